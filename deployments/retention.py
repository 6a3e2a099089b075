"""What the deployments app holds, as the retention policy sees it, registered from DeploymentsConfig.ready().

- Watchlist images and templates are kept until the policy's hours after the last deployment that
  uses the version has finished; then the whole version is destroyed (watchlists' own service) and
  only its manifest survives. The deadline is a deployment's, so this app declares it.
- Deployment records, authorisations, signage and leaflet records, manifests and counters are kept.
- The DPO report is laid out by deployment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Coalesce

from lfr_governance.registry import DataKind, ReportUnits
from watchlists.choices import VersionStatus
from watchlists.models import ReferenceImage, WatchlistManifest, WatchlistVersion
from watchlists.services import watchlist_version_destroy

from .choices import FINISHED, DeploymentStatus
from .models import Deployment


def _watchlist_versions_due(now: datetime):
    hours = settings.LFR_RETENTION["watchlist_after_deployment_hours"]
    return (
        WatchlistVersion.objects.filter(status=VersionStatus.FROZEN, deployments__isnull=False)
        .exclude(deployments__status__in=[s for s in DeploymentStatus.values if s not in FINISHED])
        .annotate(last_end=Max(Coalesce("deployments__ended_at", "deployments__ends_at")))
        .filter(last_end__lte=now - timedelta(hours=hours))
        .distinct()
    )


def _watchlist_version_purge(version: WatchlistVersion) -> None:
    watchlist_version_destroy(
        version=version, actor_label="retention purge job",
        reason=f"{settings.LFR_RETENTION['watchlist_after_deployment_hours']} hours after its last deployment ended",
    )


def _watchlist_report(deployment: Deployment, now: datetime) -> dict:
    version = deployment.watchlist_version
    manifest = WatchlistManifest.objects.filter(version=version).first()
    end = deployment.ended_at or deployment.ends_at
    due = end + timedelta(hours=settings.LFR_RETENTION["watchlist_after_deployment_hours"])
    held = ReferenceImage.objects.filter(entry__version=version).count()
    finished = deployment.status in FINISHED
    return {
        "held": held,
        "deleted": sum(e.get("images_destroyed", 0) for e in manifest.entries) if manifest else 0,
        "deleted_at": manifest.destroyed_at if manifest else None,
        "due_at": due if finished else None,
        "overdue": bool(finished and held and now > due + timedelta(minutes=settings.LFR_PURGE_GRACE_MINUTES)),
    }


def _watchlist_held_since() -> Iterable[datetime]:
    return ReferenceImage.objects.values_list("created_at", flat=True)


def data_kinds() -> list[DataKind]:
    hours = settings.LFR_RETENTION["watchlist_after_deployment_hours"]
    return [
        DataKind("watchlist_images", "Watchlist images and templates", f"{hours} hours",
                 "After the last deployment using the version ends", order=30,
                 due=_watchlist_versions_due, purge=_watchlist_version_purge,
                 report=_watchlist_report, held_since=_watchlist_held_since),
        DataKind("records", "Deployment records, authorisations, signage and leaflet records, manifests, counters",
                 "Kept", "These hold no biometric data", order=40),
    ]


REPORT_UNITS = ReportUnits(
    label="deployment",
    queryset=lambda: Deployment.objects.select_related("watchlist_version", "counters").order_by("-starts_at"),
)
