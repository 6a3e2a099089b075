from django.core.management.base import BaseCommand, CommandError

from lfr_governance.audit.anchors import AnchorKeyError
from lfr_governance.audit.services import AuditError, audit_checkpoint_create


class Command(BaseCommand):
    help = "Signs a checkpoint of the audit chain's head now (Celery beat does this every minute)."

    def handle(self, *args, **options):
        try:
            checkpoint = audit_checkpoint_create()
        except (AuditError, AnchorKeyError) as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("Nothing signed: no audit row since the last checkpoint, or a transaction holds "
                              "the chain (try again).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Signed {checkpoint}."))
