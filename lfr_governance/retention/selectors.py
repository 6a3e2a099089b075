"""What the DPO report shows: per deployment and per data kind, held, deleted, due and overdue."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from lfr_governance import clock
from deployments.models import Deployment
from lfr_governance.audit.models import AuditEvent

from .kinds import data_kinds
from .models import PurgeRun
from .services import last_successful_purge, overdue_counts

AGE_BUCKETS = [("under 1 day", 1), ("1 to 7 days", 7), ("7 to 31 days", 31), ("over 31 days", None)]


def report_deployments() -> QuerySet:
    return Deployment.objects.select_related("watchlist_version", "counters").order_by("-starts_at")


def deployment_retention(deployment: Deployment, now: datetime | None = None) -> dict:
    now = now or clock.now()
    rows = []
    for kind in data_kinds():
        if kind.report is not None:
            rows.append({"kind": kind, **kind.report(deployment, now)})
    counters = getattr(deployment, "counters", None)
    non_match = {
        "frames_received": counters.frames_received if counters else 0,
        "frames_processed": counters.frames_processed if counters else 0,
        "frames_deleted": counters.frames_deleted if counters else 0,
        "frames_refused": counters.frames_refused if counters else 0,
        "faces_detected": counters.faces_detected if counters else 0,
        "deletion_ms_mean": round(counters.deletion_ms_total / counters.frames_deleted, 1)
        if counters and counters.frames_deleted else None,
        "deletion_ms_max": round(counters.deletion_ms_max, 1) if counters else None,
    }
    from matching.selectors import deletion_percentiles

    from .models import LegalHold

    non_match.update({f"deletion_ms_{k}": v for k, v in deletion_percentiles(deployment).items()})
    holds = LegalHold.objects.filter(deployment_id=deployment.pk).select_related("owner", "placed_by")
    return {"deployment": deployment, "kinds": rows, "non_match": non_match, "holds": list(holds)}


def retention_summary(now: datetime | None = None) -> dict:
    from django.conf import settings

    now = now or clock.now()
    last = last_successful_purge()
    max_age = timedelta(minutes=settings.LFR_PURGE_MAX_AGE_MINUTES)
    overdue = overdue_counts(now)
    return {
        "kinds": data_kinds(),
        "last_success": last,
        "purge_stale": last is None or now - last.finished_at > max_age,
        "max_age_minutes": settings.LFR_PURGE_MAX_AGE_MINUTES,
        "overdue": overdue,
        "overdue_total": sum(overdue.values()),
        "runs": PurgeRun.objects.all()[:20],
    }


def deletions_by_day(days: int = 31, now: datetime | None = None) -> list[tuple[str, int]]:
    now = now or clock.now()
    since = now - timedelta(days=days)
    rows = (AuditEvent.objects.filter(action="erasure", occurred_at__gte=since)
            .annotate(day=TruncDate("occurred_at")).values_list("day", flat=True))
    counts = Counter(rows)
    start = timezone.localdate(since)
    return [((start + timedelta(days=i)).isoformat(), counts.get(start + timedelta(days=i), 0)) for i in range(days + 1)]


def held_by_age(now: datetime | None = None) -> dict[str, list[int]]:
    """{kind label: [count per AGE_BUCKETS]} for the records each kind still holds."""
    now = now or clock.now()
    result = {}
    for kind in data_kinds():
        if kind.held_since is None:
            continue
        counts = [0] * len(AGE_BUCKETS)
        for created in kind.held_since():
            age_days = (now - created).total_seconds() / 86400
            for i, (_, limit) in enumerate(AGE_BUCKETS):
                if limit is None or age_days < limit:
                    counts[i] += 1
                    break
        result[kind.label] = counts
    return result
