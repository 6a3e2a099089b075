from datetime import datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditEvent

FILTERS = ("actor", "action", "event", "target", "deployment", "subject", "since", "until")


def _day(value: str, end: bool) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def audit_events_filtered(*, actor: str = "", action: str = "", event: str = "", target: str = "",
                          deployment: str = "", subject: str = "", since: str = "", until: str = "") -> QuerySet:
    """The audit rows matching the filters; dates are UK calendar days (YYYY-MM-DD)."""
    qs = AuditEvent.objects.select_related("actor").order_by("-id")
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if action:
        qs = qs.filter(action=action)
    if event:
        qs = qs.filter(event__icontains=event)
    if target:
        qs = qs.filter(Q(target_id=target) | Q(target_type__icontains=target))
    if deployment.isdigit():
        qs = qs.filter(deployment_id=int(deployment))
    if subject:
        qs = qs.filter(subject_ref=subject)
    if since and (start := _day(since, end=False)):
        qs = qs.filter(occurred_at__gte=start)
    if until and (stop := _day(until, end=True)):
        qs = qs.filter(occurred_at__lte=stop)
    return qs


def audit_event_row(e: AuditEvent) -> dict:
    return {
        "id": e.pk, "occurred_at": e.occurred_at.isoformat(), "actor": e.actor_label, "actor_id": e.actor_id,
        "edge_node": e.edge_node_ref, "action": e.action, "event": e.event, "target_type": e.target_type,
        "target_id": e.target_id, "deployment_id": e.deployment_id, "subject_ref": e.subject_ref,
        "justification": e.justification, "changes": e.changes, "request_id": e.request_id, "ip": e.ip,
        "prev_hash": e.prev_hash, "hash": e.hash,
    }
