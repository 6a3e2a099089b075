"""Subject lookup for data subject requests: every entry, alert and audit row about one subject reference."""

from django.db import transaction

from .models import Action, AuditEvent
from .services import record


def subject_records(subject_ref: str) -> dict:
    from watchlists.models import WatchlistEntry

    entries = (WatchlistEntry.objects.filter(subject_ref=subject_ref)
               .select_related("version__watchlist", "author").order_by("version__watchlist_id", "version__number"))
    from matching.models import Alert

    alerts = Alert.objects.filter(entry__subject_ref=subject_ref).select_related("deployment").order_by("alerted_at")
    events = AuditEvent.objects.filter(subject_ref=subject_ref).order_by("id")
    return {"entries": list(entries), "alerts": list(alerts), "events": list(events)}


@transaction.atomic
def subject_lookup(*, actor, subject_ref: str, justification: str) -> dict:
    """The lookup is itself a consultation of personal data, audited with its justification."""
    found = subject_records(subject_ref)
    record(action=Action.CONSULTATION, event="subject.lookup", actor=actor, subject_ref=subject_ref,
           target_type="subject", target_id=subject_ref[:64], justification=justification,
           changes={"entries": len(found["entries"]), "alerts": len(found["alerts"]),
                    "audit_rows": len(found["events"])})
    return found
