from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from lfr_governance.references import deployment_number_parse

from .anchors import checkpoint_record
from .models import AuditCheckpoint, AuditEvent

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
    if deployment.strip():
        try:  # as it is shown everywhere (LFR-00002) or its number; anything else matches nothing
            qs = qs.filter(deployment_id=deployment_number_parse(deployment))
        except ValidationError:
            qs = qs.none()
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


def audit_checkpoints_covering(*, first_event_id: int, last_event_id: int) -> list[dict]:
    """The signed checkpoints that vouch for rows first_event_id..last_event_id: from the first that covers the
    first row to the first that covers the last (all of them for the whole log), as exported."""
    covering = AuditCheckpoint.objects.filter(last_event_id__gte=first_event_id).order_by("id")
    closing = covering.filter(last_event_id__gte=last_event_id).values_list("id", flat=True).first()
    if closing is not None:
        covering = covering.filter(id__lte=closing)
    return [checkpoint_record(c) for c in covering]
