"""Reads for matching, scoped to the deployments a person operates (role and object permission)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from deployments.choices import AuthorisationDecision, DeploymentStatus
from deployments.models import Authorisation, DeploymentCounters, Deployment, EdgeNode
from lfr_governance import clock
from lfr_governance.permissions import NOT_FOUND, scope
from watchlists.choices import VersionStatus

from . import frames
from .choices import Decision, Outcome, PerceivedAgeBand, PerceivedEthnicity, PerceivedGender
from .models import Alert, DeletionLatencyBucket, Sighting

ALERT_PERM = "matching.view_alert"
ADJUDICATE_PERM = "matching.adjudicate_alert"
OPERATE_PERM = "deployments.operate_deployment"


def deployments_operated(user) -> QuerySet:
    """Deployments whose alerts this person may watch: operators assigned to them, nobody else."""
    return scope(Deployment.objects.select_related("watchlist_version"), user, OPERATE_PERM,
                 role=(ALERT_PERM, OPERATE_PERM))


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


def alerts_awaiting_decision(deployment: Deployment) -> int:
    return deployment.alerts.filter(decision="").count()


@dataclass(frozen=True)
class PerceivedAttribute:
    """One thing an operator may record of how the passer-by of a false alert appeared: never free text."""

    key: str  # its key in DeploymentCounters.erased_false_alert_demographics
    field: str  # the Alert field, and the console form's field
    label: str
    choices: type[models.TextChoices]


PERCEIVED_ATTRIBUTES = (
    PerceivedAttribute("age_band", "perceived_age_band", "Age band", PerceivedAgeBand),
    PerceivedAttribute("gender", "perceived_gender", "Gender", PerceivedGender),
    PerceivedAttribute("ethnicity", "perceived_ethnicity", "Ethnicity", PerceivedEthnicity),
)
PERCEIVED_NOT_RECORDED = "not_recorded"


def _erased_count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def false_alerts_by_appearance(deployment: Deployment, false_alerts: int,
                               counters: DeploymentCounters | None = None) -> list[dict]:
    """False alerts per perceived age band, gender and ethnicity (live alerts and those retention erased): counts
    only, no alert. Per attribute: its groups in their order (zeros shown), and those not recorded: the false alerts
    without that attribute (an erased one counted before the attribute existed is not recorded too)."""
    live = Alert.objects.filter(deployment=deployment, decision=Decision.FALSE_ALERT).aggregate(**{
        f"{attribute.key}:{code}": Count("id", filter=Q(**{attribute.field: code}))
        for attribute in PERCEIVED_ATTRIBUTES for code in attribute.choices.values})
    erased = (counters.erased_false_alert_demographics if counters else None) or {}
    table = []
    for attribute in PERCEIVED_ATTRIBUTES:
        kept = erased.get(attribute.key) if isinstance(erased.get(attribute.key), dict) else {}
        rows = [{"code": code, "label": label,
                 "false_alerts": int(live[f"{attribute.key}:{code}"] or 0) + _erased_count(kept.get(code))}
                for code, label in attribute.choices.choices]
        # A group no longer offered still counts, under its code.
        rows += [{"code": code, "label": code, "false_alerts": _erased_count(n)} for code, n in sorted(kept.items())
                 if code not in attribute.choices.values and code != PERCEIVED_NOT_RECORDED and _erased_count(n)]
        recorded = sum(row["false_alerts"] for row in rows)
        table.append({"key": attribute.key, "label": attribute.label, "rows": rows,
                      "not_recorded": max(false_alerts - recorded, 0)})
    return table


def deployment_alert_figures(deployment: Deployment) -> dict[str, int | float | list | None]:
    """The alert figures of the published record, per passer-by: no personal data.

    An alert is one person's appearance (a track that confirmed, later sightings joined to it); passers-by are the
    tracks started; candidates are the tracks that scored at or above the threshold in at least one frame, and those
    not confirmed are the candidates that never reached the deployment's frames to confirm a match."""
    from lfr_governance.rates import PerPasserBy

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
    result: dict[str, int | float | list | None] = {
        key: int(value or 0) + (getattr(counters, erased[key]) if counters else 0) for key, value in figures.items()}
    passers_by = counters.tracks if counters else 0
    candidates = counters.candidates if counters else 0
    alerted = counters.tracks_alerted if counters else 0
    rate = PerPasserBy(int(result["false_alerts"] or 0), passers_by)
    result.update({
        "passers_by": passers_by,
        "candidates": candidates,
        "passers_by_alerted": alerted,
        "candidates_not_confirmed": max(candidates - alerted, 0),
        "sightings": counters.sightings if counters else 0,
        "false_alert_rate": rate.rate,
        "false_alert_one_in": rate.one_in,
        # The operators' perception of the passers-by of false alerts, per group (the published record's table).
        "false_alerts_by_appearance": false_alerts_by_appearance(deployment, int(result["false_alerts"] or 0),
                                                                 counters),
    })
    return result


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


# --- Whether a live deployment's frames can be matched ------------------------------------------

DIGEST_DIFFERS = "the watchlist digest differs from the one authorised"
VERSION_DESTROYED = "its watchlist version's images and templates were destroyed"


def watchlist_problem(*, version_status: str, version_digest: str, authorised_digest: str | None) -> str:
    """Why a deployment's watchlist cannot be matched against, as the database shows it, or "" (the worker and
    the web ask the same question)."""
    if version_status == VersionStatus.DESTROYED:
        return VERSION_DESTROYED
    if authorised_digest != version_digest:
        return DIGEST_DIFFERS
    return ""


def _current_authorised_digest():
    return Subquery(Authorisation.objects.filter(
        deployment_id=OuterRef("pk"), decision=AuthorisationDecision.AUTHORISED, superseded_at__isnull=True,
    ).values("bound_watchlist_digest")[:1])


def deployment_problem(deployment: Deployment, *, reported: str | None = None) -> str:
    """Why the frames of this live deployment cannot be matched now, or "": what the database shows (watchlist
    destroyed, or not the version authorised), else what the worker last reported (a gallery it could not build,
    templates that no longer make the digest). Read by the edge API, the deployment page and /healthz.

    The edge API passes what it already holds: the deployment as the node's token lookup found it (with its
    `watchlist_state`, from the same query) and the worker's report (`reported`, from the same Redis round trip as
    the rate limit), so a frame costs no further query."""
    if deployment.status != DeploymentStatus.LIVE:
        return ""
    state = getattr(deployment, "watchlist_state", None)
    if state is not None:
        version_status, version_digest, authorised = (state.version_status, state.version_digest,
                                                      state.authorised_digest)
    else:
        row = (Deployment.objects.filter(pk=deployment.pk).annotate(authorised=_current_authorised_digest())
               .values("watchlist_version__status", "watchlist_version__digest", "authorised").first())
        if row is None:
            return ""
        version_status, version_digest, authorised = (row["watchlist_version__status"],
                                                      row["watchlist_version__digest"], row["authorised"])
    problem = watchlist_problem(version_status=version_status, version_digest=version_digest,
                                authorised_digest=authorised)
    if problem or reported is not None:
        return problem or reported
    try:
        return frames.problem_reported(deployment.pk)
    except redis.RedisError:  # Redis down: /healthz reports that; frames are refused by the queue meanwhile
        return ""


def matching_health() -> dict:
    """The /healthz check (registered as "matching"): every live deployment's frames can be matched."""
    live = list(Deployment.objects.filter(status=DeploymentStatus.LIVE).only("pk", "status").order_by("pk"))
    problems = {f"LFR-{d.pk:05d}": problem for d in live if (problem := deployment_problem(d))}
    answer = {"ok": not problems, "live_deployments": len(live)}
    if problems:
        answer["problems"] = problems
    return answer


def frames_expired_health() -> dict:
    """The /healthz check (registered as "frames_expired"): no accepted frame expired before a worker reached it,
    lately (LFR_FRAMES_EXPIRED_ALERT_SECONDS since the last)."""
    expired = frames.expired_recent()
    if not expired:
        return {"ok": True}
    return {"ok": False, "error": "accepted frames expired before a worker reached them: they were never matched. "
            "The frames workers are stopped or too few for the load; see the deployment's processing counts.",
            "expired_unprocessed": {f"LFR-{pk:05d}": count for pk, count in sorted(expired.items())},
            "cleared_seconds_after_the_last": settings.LFR_FRAMES_EXPIRED_ALERT_SECONDS}


# --- Edge nodes -------------------------------------------------------------------------------


def edge_counting_deployment(node: EdgeNode, now: datetime | None = None) -> Deployment | None:
    """For a node with no live deployment now (its authentication found none), the deployment its refused
    requests are counted against: the one whose window is open now, else one marked live, else the next
    scheduled one."""
    now = now or clock.now()
    active = node.deployments.filter(status__in=[DeploymentStatus.LIVE, DeploymentStatus.SCHEDULED])
    return (active.filter(starts_at__lte=now, ends_at__gt=now).first()
            or active.filter(status=DeploymentStatus.LIVE).first()
            or active.filter(starts_at__gt=now).order_by("starts_at").first())


def edge_status(*, node: EdgeNode, live: Deployment | None, now: datetime | None = None) -> dict:
    """What GET status answers; `live` is the node's live deployment as its authentication found it."""
    now = now or clock.now()
    deployment = live or edge_counting_deployment(node, now)
    problem = deployment_problem(live) if live is not None else ""
    return {
        "edge_node": node.name,
        "live": live is not None and not problem,  # frames are refused while its frames cannot be matched
        "problem": problem,
        "deployment": None if deployment is None else {
            "id": deployment.pk,
            "reference": f"LFR-{deployment.pk:05d}",
            "status": deployment.status,
            "starts_at": deployment.starts_at,
            "ends_at": deployment.ends_at,
        },
        "server_time": now,
        "max_clock_skew_seconds": settings.LFR_EDGE_MAX_CLOCK_SKEW_SECONDS,
        "max_requests_per_second": settings.LFR_EDGE_MAX_FRAMES_PER_SECOND,
        "max_image_bytes": settings.LFR_EDGE_MAX_FRAME_BYTES,
    }


# --- The operator console: one card per alerted person ----------------------------------------

# The console's filter (?show=...): which alerts it lists. Awaiting first: what the operator must act on.
CONSOLE_FILTERS = {"awaiting": "Awaiting decision", "decided": "Decided", "all": "All"}
CONSOLE_FILTER_DEFAULT = "awaiting"
SIGHTINGS_SHOWN_LIMIT = 500


def console_filter_clean(value: str | None) -> str:
    return value if value in CONSOLE_FILTERS else CONSOLE_FILTER_DEFAULT


def console_alerts(deployment: Deployment, show: str) -> QuerySet:
    """A deployment's alerts as the console lists them under its filter (awaiting decision, decided, all)."""
    alerts = deployment_alerts(deployment)
    if show == "awaiting":
        return alerts.filter(decision="")
    if show == "decided":
        return alerts.exclude(decision="")
    return alerts


def console_alerts_new(deployment: Deployment, show: str, *, after_id: int, have=(), limit: int = 100) -> list[Alert]:
    """The console's alerts above `after_id` under its filter, except those it holds (`have`), oldest first (at most
    `limit` of the newest).

    Workers commit alerts out of id order, so a console asks from a little below the highest id it holds and
    names the ones it has: an alert committed late under a lower id still reaches it.
    """
    newest = (console_alerts(deployment, show).filter(pk__gt=after_id).exclude(pk__in=list(have))
              .order_by("-pk")[:limit])
    return sorted(newest, key=lambda a: a.pk)


def console_alerts_held(deployment: Deployment, ids, limit: int = 500) -> list[Alert]:
    """The alerts a console holds (their ids), for their current state: decision, sightings, best probe."""
    return list(deployment_alerts(deployment).filter(pk__in=list(ids)[:limit]).order_by("-pk"))


def deployments_operated_awaiting(user) -> QuerySet:
    """The deployments this person operates, each with `awaiting`: its alerts (people) awaiting a decision, in one
    query."""
    return deployments_operated(user).annotate(awaiting=Count("alerts", filter=Q(alerts__decision="")))


def alert_sightings(alert: Alert, limit: int = SIGHTINGS_SHOWN_LIMIT) -> list[Sighting]:
    """The faces of the alerted person (first seen first), at most `limit` (the latest of them)."""
    latest = alert.sightings.order_by("-captured_at", "-id")[:limit]
    return sorted(latest, key=lambda s: (s.captured_at, s.pk))
