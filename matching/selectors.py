"""Reads for matching, scoped to the deployments a person operates (role and object permission)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from deployments.models import DeploymentCounters, Deployment
from lfr_governance.permissions import has_role_perm, restrict

from . import frames
from .choices import Decision, Outcome
from .models import Alert, DeletionLatencyBucket

NOT_FOUND = "Not found: it does not exist or you do not have access to it."
ALERT_PERM = "matching.view_alert"
OPERATE_PERM = "deployments.operate_deployment"


def deployments_operated(user) -> QuerySet:
    """Deployments whose alerts this person may watch: operators assigned to them, nobody else."""
    if not has_role_perm(user, ALERT_PERM) or not has_role_perm(user, OPERATE_PERM):
        return Deployment.objects.none()
    return restrict(Deployment.objects.select_related("watchlist_version"), user, OPERATE_PERM)


def deployment_operated_get(user, pk: int) -> Deployment:
    """404 alike for a deployment that does not exist and one the person does not operate."""
    deployment = deployments_operated(user).filter(pk=pk).first()
    if deployment is None:
        raise Http404(NOT_FOUND)
    return deployment


def alert_get(user, pk: int) -> Alert:
    alert = Alert.objects.select_related("entry", "deployment", "edge_node").filter(
        pk=pk, deployment__in=deployments_operated(user)).first()
    if alert is None:
        raise Http404(NOT_FOUND)
    return alert


def deployment_alerts(deployment: Deployment) -> QuerySet:
    return deployment.alerts.select_related("entry", "edge_node", "decided_by", "outcome_by")


def alerts_after(deployment: Deployment, after_id: int, limit: int = 100, have=()) -> list[Alert]:
    """Alerts above `after_id` except those in `have`, oldest first (at most `limit` of the newest).

    Workers commit alerts out of id order, so a console asks from a little below the highest id it holds and
    names the ones it has: an alert committed late under a lower id still reaches it.
    """
    newest = deployment_alerts(deployment).filter(pk__gt=after_id).exclude(pk__in=list(have)).order_by("-pk")[:limit]
    return sorted(newest, key=lambda a: a.pk)


def alerts_awaiting_decision(deployment: Deployment) -> int:
    return deployment.alerts.filter(decision="").count()


def deployment_alert_figures(deployment: Deployment) -> dict[str, int]:
    """The alert figures of the published record: no personal data."""
    figures = Alert.objects.filter(deployment=deployment).aggregate(
        alerts=Count("id"),
        true_alerts=Count("id", filter=Q(decision=Decision.CONFIRMED)),
        false_alerts=Count("id", filter=Q(decision=Decision.FALSE_ALERT)),
        engagements=Count("id", filter=~Q(outcome="")),
        arrests=Count("id", filter=Q(outcome=Outcome.ARRESTED)),
    )
    counters = DeploymentCounters.objects.filter(deployment=deployment).first()
    # Alerts erased by retention still count: their outcomes were kept as numbers when they went.
    erased = {"alerts": "erased_alerts", "true_alerts": "erased_true_alerts", "false_alerts": "erased_false_alerts",
              "engagements": "erased_engagements", "arrests": "erased_arrests"}
    return {key: int(value or 0) + (getattr(counters, erased[key]) if counters else 0)
            for key, value in figures.items()}


def deletion_histogram(deployment: Deployment) -> list[tuple[int, int]]:
    return list(DeletionLatencyBucket.objects.filter(deployment=deployment).values_list("upper_ms", "frames"))


def deletion_percentiles(deployment: Deployment, percentiles=(50, 95, 99)) -> dict[str, float | None]:
    """Deletion latency percentiles: exact from the recent samples in Redis, else the histogram's bucket bound."""
    samples = sorted(frames.deletion_samples(deployment.pk))
    result: dict[str, float | None] = {}
    if samples:
        for p in percentiles:
            result[f"p{p}"] = samples[min(len(samples) - 1, int(round(p / 100 * (len(samples) - 1))))]
        return result
    histogram = deletion_histogram(deployment)
    total = sum(n for _, n in histogram)
    for p in percentiles:
        if not total:
            result[f"p{p}"] = None
            continue
        running, wanted = 0, p / 100 * total
        for upper, n in histogram:
            running += n
            if running >= wanted:
                result[f"p{p}"] = float(upper)
                break
    return result
