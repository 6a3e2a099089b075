from django.core.management.base import BaseCommand, CommandError

from lfr_governance.audit.services import audit_anchor_verify, audit_chain_verify


class Command(BaseCommand):
    help = ("Verifies the audit log's hash chain (names the first broken row) and the log against its signed "
            "checkpoints in the table and the exported files (truncation, rewriting, forged or deleted checkpoints).")

    def handle(self, *args, **options):
        chain, anchor = audit_chain_verify(), audit_anchor_verify()
        failures = []
        if chain.ok:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {chain.checked} rows verified."))
        else:
            failures.append(f"Audit chain BROKEN after {chain.checked} good rows: {chain.reason}.")
        if not anchor.ok:
            failures.append("Audit anchors FAILED: " + "; ".join(anchor.problems) + ".")
        elif anchor.latest is None:
            self.stdout.write(self.style.WARNING(
                "Audit anchors: no checkpoint yet, so nothing outside the database vouches for the log "
                "(Celery beat signs one every LFR_AUDIT_ANCHOR_INTERVAL_SECONDS; `audit_checkpoint` signs one now)."))
        else:
            latest = anchor.latest
            self.stdout.write(self.style.SUCCESS(
                f"Audit anchors intact: {anchor.checkpoints} signed checkpoints match the table, the exported files "
                f"and the log; the newest (checkpoint {latest['id']}, {latest['created_at']}) covers "
                f"{latest['row_count']} rows up to row {latest['last_event_id']}, {anchor.unanchored} rows since."))
        if failures:
            raise CommandError(" ".join(failures))
