"""manage.py calibrate_packs [--pack ID ...] [--out DIR] [--faces DIR] [--limit N] [--update-manifests]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matching.engine import EngineError, calibration
from matching.management import calibration_dir_from_settings, engine_config_from_settings, faces_dir_from_settings


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"--limit must be a whole number of images, not {text!r}.") from None
    if value < 50:
        raise CommandError("--limit must be at least 50 images per data set.")
    return value


class Command(BaseCommand):
    help = ("Calibrate model packs on lfw-dev (greyscale), utk-dev and deepface (colour): thresholds chosen on half "
            "the people for target false alerts per passer-by, held-out FPIR/TPIR, equitability by group.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pack", action="append", dest="packs", help="pack id (repeatable; default yunet-sface)")
        parser.add_argument("--out", type=Path, help="output folder (default LFR_CALIBRATION_DIR)")
        parser.add_argument("--faces", type=Path, help="shared faces folder (default LFR_FACES_DIR)")
        parser.add_argument("--limit", type=_positive, help="only the first N images of each data set (a quick look)")
        parser.add_argument(
            "--update-manifests",
            action="store_true",
            help="maintainers: write the default thresholds and figures into the committed pack manifests",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        faces = options["faces"] or faces_dir_from_settings()
        for needed in ("lfw-dev/identities.csv", "utk-dev/labels.csv", "deepface/identities.csv"):
            if not (Path(faces) / needed).is_file():
                raise CommandError(f"{Path(faces) / needed} is missing: set LFR_FACES_DIR (or --faces) to the "
                                   "shared faces folder holding lfw-dev/, utk-dev/ and deepface/.")
        try:
            calibration.main(
                pack_ids=options["packs"],
                out_dir=options["out"] or calibration_dir_from_settings(),
                faces_dir=faces,
                config=engine_config_from_settings(),
                limit=options["limit"],
                update_manifests=bool(options["update_manifests"]),
                write=self.stdout.write,
            )
        except (EngineError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
