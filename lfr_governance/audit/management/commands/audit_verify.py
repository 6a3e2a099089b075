from django.core.management.base import BaseCommand, CommandError

from lfr_governance.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verifies the audit log's hash chain and names the first broken row."

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(f"Audit chain BROKEN after {result.checked} good rows: {result.reason}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} rows verified."))
