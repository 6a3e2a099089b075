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
from django.db.models import Max, Q
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


def data_kinds() -> list[DataKind]:
    r = settings.LFR_RETENTION
    kinds = [
        DataKind("non_match_biometrics", "Non-match frames, face crops and templates", "None kept",
                 "Deleted in the same task that processes the frame, never written to durable storage"),
        DataKind("alerts", "Alerts and their probe crops", f"{r['alerts_days']} days",
                 "From the alert, unless a legal hold is recorded"),
        DataKind("watchlist_images", "Watchlist images and templates",
                 f"{r['watchlist_after_deployment_hours']} hours", "After the last deployment using the version ends",
                 due=_watchlist_versions_due, purge=_watchlist_version_purge, report=_watchlist_report,
                 held_since=_watchlist_held_since),
        DataKind("records", "Deployment records, authorisations, signage and leaflet records, manifests, counters",
                 "Kept", "These hold no biometric data"),
        DataKind("audit_log", "Audit log", "Kept", "Append-only and tamper-evident"),
    ]
    return kinds

