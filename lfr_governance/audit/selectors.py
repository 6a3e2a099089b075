from django.db.models import QuerySet

from .models import AuditEvent


def audit_events_filtered(*, actor: str = "", action: str = "", event: str = "", target: str = "") -> QuerySet:
    qs = AuditEvent.objects.select_related("actor").order_by("-id")
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if action:
        qs = qs.filter(action=action)
    if event:
        qs = qs.filter(event__icontains=event)
    if target:
        qs = qs.filter(target_id=target) | qs.filter(target_type__icontains=target)
    return qs
