"""What the DPO report shows: per deployment and per data kind, held, deleted, due and overdue."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from lfr_governance import clock
from lfr_governance.audit.models import AuditEvent
from lfr_governance.permissions import has_role_perm
from lfr_governance.rates import PerPasserBy
from lfr_governance.registry import registry

from .kinds import data_kinds
from .models import LegalHold, PurgeRun
from .services import last_successful_purge, orphan_files_report, overdue_counts

AGE_BUCKETS = [("under 1 day", 1), ("1 to 7 days", 7), ("7 to 31 days", 31), ("over 31 days", None)]
REPORT_PERM = "retention.view_purgerun"  # the DPO
HOLD_PERM = "retention.add_legalhold"  # officers who may place holds on their deployments' alerts
# A deployment as people type it: the reference shown on screen (LFR-00002), or its number (00002, 2).
def legal_holds_visible(user) -> QuerySet:
    """The holds this person may see: every hold for the DPO; for an officer who may place holds, those on records
    of the deployments they can see (the hold target's own rule); none for anyone else."""
    holds = LegalHold.objects.select_related("owner", "placed_by", "released_by")
    if has_role_perm(user, REPORT_PERM):
        return holds
    visible = registry.hold_target().held_units_visible
    if not has_role_perm(user, HOLD_PERM) or visible is None:
        return holds.none()
    return holds.filter(deployment_id__in=visible(user))


def report_deployments() -> QuerySet:
    """The report's rows: every deployment, newest first (registered by the deployments app)."""
    return registry.report_units().queryset()


def deployment_retention(deployment, now: datetime | None = None) -> dict:
    now = now or clock.now()
    rows, non_match = [], {}
    for kind in data_kinds():
        if kind.report is not None:
            rows.append({"kind": kind, **kind.report(deployment, now)})
        if kind.evidence is not None:
            non_match.update(kind.evidence(deployment))
    holds = LegalHold.objects.filter(deployment_id=deployment.pk).select_related("owner", "placed_by")
    figures = passer_by_figures(deployment)
    return {"deployment": deployment, "kinds": rows, "non_match": non_match, "holds": list(holds),
            "figures": figures, "false_alert_rate": PerPasserBy(figures["false_alerts"], figures["passers_by"])}


# The figures per passer-by the report shows, with 0 for any no app registered.
PASSER_BY_FIGURES = ("passers_by", "alerts", "true_alerts", "false_alerts", "candidates", "candidates_not_confirmed",
                     "sightings")


def passer_by_figures(deployment) -> dict[str, int]:
    """Passers-by (tracks), alerts per person and their outcomes, and candidates not confirmed, as the published
    record counts them (the apps' registered figures)."""
    figures = registry.published_figures(deployment)
    return {key: int(figures.get(key) or 0) for key in PASSER_BY_FIGURES}


def retention_summary(now: datetime | None = None) -> dict:
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
        "orphans": orphan_files_report(now),
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
