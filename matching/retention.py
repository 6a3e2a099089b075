"""What the matching app holds, as the retention policy sees it, registered from MatchingConfig.ready().

- Non-match frames, crops and templates: none kept (the per-deployment counts are the evidence).
- Alerts and their probe crops: erased after the policy's days, unless a legal hold keeps them.
- A legal hold keeps one alert: the deployment's own officers may place and release it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from django.conf import settings
from django.db.models import Min

from deployments.models import Deployment
from lfr_governance.audit.models import AuditEvent
from lfr_governance.permissions import restrict
from lfr_governance.registry import DataKind, HoldTarget, SubjectLookup
from lfr_governance.retention.models import LegalHold

from . import services
from .models import Alert
from .selectors import deletion_percentiles


def _held_alert_ids():
    return LegalHold.objects.filter(released_at__isnull=True, alert__isnull=False).values("alert_id")


def _alerts_due(now: datetime):
    days = settings.LFR_RETENTION["alerts_days"]
    return (Alert.objects.filter(alerted_at__lte=now - timedelta(days=days))
            .exclude(pk__in=_held_alert_ids()).select_related("entry"))


def _alert_purge(alert: Alert) -> None:
    services.alert_erase(alert=alert, actor_label="retention purge job",
                         reason=f"{settings.LFR_RETENTION['alerts_days']} days after the alert")


def _alerts_report(deployment: Deployment, now: datetime) -> dict:
    days = settings.LFR_RETENTION["alerts_days"]
    held = Alert.objects.filter(deployment=deployment)
    erased = AuditEvent.objects.filter(event="alert.erase", deployment_id=deployment.pk)
    oldest_unheld = held.exclude(pk__in=_held_alert_ids()).aggregate(first=Min("alerted_at"))["first"]
    due = oldest_unheld + timedelta(days=days) if oldest_unheld else None
    return {
        "held": held.count(),
        "deleted": erased.count(),
        "deleted_at": erased.order_by("-id").values_list("occurred_at", flat=True).first(),
        "due_at": due,
        "overdue": bool(due and now > due + timedelta(minutes=settings.LFR_PURGE_GRACE_MINUTES)),
    }


def _alerts_held_since() -> Iterable[datetime]:
    return Alert.objects.values_list("alerted_at", flat=True)


def _non_match_evidence(deployment: Deployment) -> dict:
    """The counts that prove deletion: frames received, processed and deleted, and how fast."""
    counters = getattr(deployment, "counters", None)
    evidence = {
        "frames_received": counters.frames_received if counters else 0,
        "frames_processed": counters.frames_processed if counters else 0,
        "frames_deleted": counters.frames_deleted if counters else 0,
        "frames_refused": counters.frames_refused if counters else 0,
        "frames_refused_busy": counters.frames_refused_busy if counters else 0,
        "frames_expired": counters.frames_expired if counters else 0,
        "faces_detected": counters.faces_detected if counters else 0,
        "crops_without_face": counters.crops_without_face if counters else 0,
        "deletion_ms_mean": round(counters.deletion_ms_total / counters.frames_deleted, 1)
        if counters and counters.frames_deleted else None,
        "deletion_ms_max": round(counters.deletion_ms_max, 1) if counters else None,
    }
    evidence.update({f"deletion_ms_{k}": v for k, v in deletion_percentiles(deployment).items()})
    return evidence


def data_kinds() -> list[DataKind]:
    days = settings.LFR_RETENTION["alerts_days"]
    return [
        DataKind("non_match_biometrics", "Non-match frames, face crops and templates", "None kept",
                 "Deleted in the same task that processes the frame, never written to durable storage",
                 order=10, evidence=_non_match_evidence),
        DataKind("alerts", "Alerts and their probe crops", f"{days} days",
                 "From the alert, unless a legal hold is recorded", order=20,
                 due=_alerts_due, purge=_alert_purge, report=_alerts_report, held_since=_alerts_held_since),
    ]


def _alert_find(pk: int) -> Alert | None:
    return Alert.objects.filter(pk=pk).select_related("entry", "deployment").first()


def _deployments_holdable(user):
    """The deployments whose alerts this person may hold, and whose holds they see: those they can see (their
    team's, and those they are named on)."""
    return restrict(Deployment.objects.all(), user, "deployments.view_deployment").values("pk")


def _may_hold(user, alert: Alert) -> bool:
    """Officers who can see the alert's deployment (its team, its named officers)."""
    return _deployments_holdable(user).filter(pk=alert.deployment_id).exists()


HOLD_TARGET = HoldTarget(label="alert", find=_alert_find, may_hold=_may_hold,
                         deployment_id=lambda alert: alert.deployment_id,
                         subject_ref=lambda alert: alert.entry.subject_ref,
                         held_units_visible=_deployments_holdable)


def _subject_alerts(subject_ref: str) -> list[Alert]:
    return list(Alert.objects.filter(entry__subject_ref=subject_ref).select_related("deployment").order_by("alerted_at"))


SUBJECT_ALERTS = SubjectLookup(key="alerts", label="Alerts", order=20, records=_subject_alerts,
                               template="matching/_subject_alerts.html")
