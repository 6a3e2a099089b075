"""Proof of deletion: python manage.py verify_no_residue [--deployment ID] [--frame-id ID ...] [--marker TEXT ...]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from deployments.models import Deployment
from tools.residue import residue_find


class Command(BaseCommand):
    help = ("Searches the database, the media folder, the temporary folder and Redis for anything left from a face "
            "that made no alert. Prints what it finds (nothing, when all is well); exits non-zero if it finds any.")

    def add_arguments(self, parser):
        parser.add_argument("--deployment", type=int, help="Limit the alert and Redis checks to this deployment, and "
                                                           "examine temporary files written since it went live.")
        parser.add_argument("--frame-id", action="append", default=[], dest="frame_ids",
                            help="A frame id the edge node sent; repeat. Ids of frames that made no alert may "
                                 "appear nowhere.")
        parser.add_argument("--frame-ids-file", type=Path, help="A file with one frame id per line.")
        parser.add_argument("--marker", action="append", default=[], dest="markers",
                            help="A string placed inside the frames (e.g. a JPEG comment); repeat.")
        parser.add_argument("--since", help="Examine temporary files written since this ISO 8601 time "
                                            "(default: the deployment's start, else the last 24 hours).")

    def handle(self, *args, **options):
        deployment = None
        if options["deployment"]:
            deployment = Deployment.objects.filter(pk=options["deployment"]).first()
            if deployment is None:
                raise CommandError(f"There is no deployment {options['deployment']}.")
        frame_ids = list(options["frame_ids"])
        if options["frame_ids_file"]:
            frame_ids += [line.strip() for line in options["frame_ids_file"].read_text().splitlines() if line.strip()]
        since = parse_datetime(options["since"]) if options["since"] else None
        if options["since"] and since is None:
            raise CommandError("Give --since as an ISO 8601 time, e.g. 2026-05-01T14:00:00+01:00.")
        report = residue_find(deployment=deployment, frame_ids=frame_ids, markers=options["markers"], since=since)
        scope = f"deployment {deployment.pk}" if deployment else "all deployments"
        self.stdout.write(f"Searched for residue of non-match faces ({scope}; {len(frame_ids)} frame id(s), "
                          f"{len(options['markers'])} marker(s)):")
        for line in report.checked:
            self.stdout.write(f"  checked {line}")
        for line in report.notes:
            self.stdout.write(f"  note: {line}")
        if report.clean:
            self.stdout.write(self.style.SUCCESS("Nothing found."))
            return
        for line in report.findings:
            self.stdout.write(self.style.ERROR(f"  FOUND {line}"))
        raise CommandError(f"Found {len(report.findings)} trace(s) of non-match data: see above.")
