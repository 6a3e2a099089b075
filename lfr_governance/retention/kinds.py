"""The data kinds the retention policy covers: what each holds, when it falls due, and how it is deleted.

Periods come from the one policy place (settings.LFR_RETENTION). Each kind answers `due(now)`
with the records whose period has run out, and `purge(record)` deletes one (files and rows, audited
as erasure by the service it calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Coalesce


@dataclass(frozen=True)
class DataKind:
    key: str
    label: str
    period: str
    trigger: str
    due: Callable[[datetime], Iterable] | None = None
    purge: Callable[[object], None] | None = None
    # For the DPO report: {held, deleted, deleted_at, due_at} for one deployment.
    report: Callable[[object, datetime], dict] | None = None
    # For the "held by age" chart: creation times of the records of this kind still held.
    held_since: Callable[[], Iterable[datetime]] | None = None


def _watchlist_versions_due(now: datetime):
    from deployments.choices import DeploymentStatus as S
    from watchlists.choices import VersionStatus
    from watchlists.models import WatchlistVersion

    hours = settings.LFR_RETENTION["watchlist_after_deployment_hours"]
    finished = [S.ENDED, S.REVIEWED, S.CANCELLED]
    return (
        WatchlistVersion.objects.filter(status=VersionStatus.FROZEN, deployments__isnull=False)
        .exclude(deployments__status__in=[s for s in S.values if s not in finished])
        .annotate(last_end=Max(Coalesce("deployments__ended_at", "deployments__ends_at")))
        .filter(last_end__lte=now - timedelta(hours=hours))
        .distinct()
    )


def _watchlist_version_purge(version) -> None:
    from watchlists.services import watchlist_version_destroy

    watchlist_version_destroy(
        version=version, actor_label="retention purge job",
        reason=f"{settings.LFR_RETENTION['watchlist_after_deployment_hours']} hours after its last deployment ended",
    )


def _watchlist_report(deployment, now: datetime) -> dict:
    from watchlists.models import ReferenceImage, WatchlistManifest

    version = deployment.watchlist_version
    manifest = WatchlistManifest.objects.filter(version=version).first()
    end = deployment.ended_at or deployment.ends_at
    due = end + timedelta(hours=settings.LFR_RETENTION["watchlist_after_deployment_hours"])
    held = ReferenceImage.objects.filter(entry__version=version).count()
    finished = deployment.status in ("ended", "reviewed", "cancelled")
    return {
        "held": held,
        "deleted": sum(e.get("images_destroyed", 0) for e in manifest.entries) if manifest else 0,
        "deleted_at": manifest.destroyed_at if manifest else None,
        "due_at": due if finished else None,
        "overdue": bool(finished and held and now > due + timedelta(minutes=settings.LFR_PURGE_GRACE_MINUTES)),
    }


def _watchlist_held_since() -> Iterable[datetime]:
    from watchlists.models import ReferenceImage

    return ReferenceImage.objects.values_list("created_at", flat=True)


def _alerts_due(now: datetime):
    from matching.models import Alert

    days = settings.LFR_RETENTION["alerts_days"]
    return (Alert.objects.filter(alerted_at__lte=now - timedelta(days=days))
            .exclude(pk__in=_held_alert_ids()).select_related("entry"))


def _held_alert_ids():
    from .models import LegalHold

    return LegalHold.objects.filter(released_at__isnull=True, alert__isnull=False).values("alert_id")


def _alert_purge(alert) -> None:
    from django.db import transaction
    from django.db.models import F

    from deployments.models import DeploymentCounters
    from lfr_governance.audit.models import Action
    from lfr_governance.audit.services import record
    from matching.choices import Decision, Outcome
    from matching.models import Alert

    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    # The published record keeps its figures after the alert itself is gone.
    DeploymentCounters.objects.filter(deployment_id=alert.deployment_id).update(
        erased_alerts=F("erased_alerts") + 1,
        erased_true_alerts=F("erased_true_alerts") + int(alert.decision == Decision.CONFIRMED),
        erased_false_alerts=F("erased_false_alerts") + int(alert.decision == Decision.FALSE_ALERT),
        erased_engagements=F("erased_engagements") + int(alert.outcome != ""),
        erased_arrests=F("erased_arrests") + int(alert.outcome == Outcome.ARRESTED),
    )
    name = alert.probe_image.name
    record(action=Action.ERASURE, event="alert.erase", actor_label="retention purge job", target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref,
           changes={"reason": f"{settings.LFR_RETENTION['alerts_days']} days after the alert"})
    alert.delete()

    def delete_file() -> None:
        from django.core.files.storage import default_storage

        default_storage.delete(name)

    transaction.on_commit(delete_file)


def _alerts_report(deployment, now: datetime) -> dict:
    from django.db.models import Min

    from lfr_governance.audit.models import AuditEvent
    from matching.models import Alert

    days = settings.LFR_RETENTION["alerts_days"]
    held = Alert.objects.filter(deployment=deployment)
    erased = AuditEvent.objects.filter(event="alert.erase", deployment_id=deployment.pk)
    oldest_unheld = held.exclude(pk__in=_held_alert_ids()).aggregate(
        first=Min("alerted_at"))["first"]
    due = oldest_unheld + timedelta(days=days) if oldest_unheld else None
    return {
        "held": held.count(),
        "deleted": erased.count(),
        "deleted_at": erased.order_by("-id").values_list("occurred_at", flat=True).first(),
        "due_at": due,
        "overdue": bool(due and now > due + timedelta(minutes=settings.LFR_PURGE_GRACE_MINUTES)),
    }


def _alerts_held_since() -> Iterable[datetime]:
    from matching.models import Alert

    return Alert.objects.values_list("alerted_at", flat=True)


def data_kinds() -> list[DataKind]:
    r = settings.LFR_RETENTION
    kinds = [
        DataKind("non_match_biometrics", "Non-match frames, face crops and templates", "None kept",
                 "Deleted in the same task that processes the frame, never written to durable storage"),
        DataKind("alerts", "Alerts and their probe crops", f"{r['alerts_days']} days",
                 "From the alert, unless a legal hold is recorded",
                 due=_alerts_due, purge=_alert_purge, report=_alerts_report, held_since=_alerts_held_since),
        DataKind("watchlist_images", "Watchlist images and templates",
                 f"{r['watchlist_after_deployment_hours']} hours", "After the last deployment using the version ends",
                 due=_watchlist_versions_due, purge=_watchlist_version_purge, report=_watchlist_report,
                 held_since=_watchlist_held_since),
        DataKind("records", "Deployment records, authorisations, signage and leaflet records, manifests, counters",
                 "Kept", "These hold no biometric data"),
        DataKind("audit_log", "Audit log", "Kept", "Append-only and tamper-evident"),
    ]
    return kinds

