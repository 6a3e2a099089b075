"""Reads for deployments, scoped to what the person may see, and what a person may do with one now."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from lfr_governance import clock
from lfr_governance.permissions import NOT_FOUND, allowed, get_for_user_or_404, has_role_perm, restrict, scope
from lfr_governance.rates import PerPasserBy
from lfr_governance.registry import registry
from watchlists.choices import VersionStatus

from .choices import (
    CHANGEABLE,
    FINISHED,
    LEAFLETS_CLOSED,
    WITHDRAWABLE,
    PUBLISHED,
    REAUTHORISE_FROM,
    AuthorisationDecision,
    DeploymentStatus,
    transition_allowed,
)
from .models import Authorisation, Deployment, EdgeNode

S = DeploymentStatus
VIEW = "deployments.view_deployment"
CHANGE = "deployments.change_deployment"  # the applicant's team
AUTHORISE = "deployments.authorise_deployment"  # the officer it was submitted to
# Who may cancel: the applicant's team or the authorising officer (either permission).
CANCELLERS = (CHANGE, AUTHORISE)


def deployments_visible(user) -> QuerySet:
    return scope(
        Deployment.objects.select_related("applicant", "team", "watchlist_version__watchlist", "authorising_officer"),
        user, VIEW,
    )


def deployment_get(user, pk: int, perm: str = VIEW) -> Deployment:
    """404 alike for a deployment that does not exist and one the person may not `perm` (nor see)."""
    return get_for_user_or_404(
        Deployment.objects.select_related("watchlist_version__watchlist", "applicant", "authorising_officer"),
        user, perm, role=(VIEW, perm), message=NOT_FOUND, pk=pk,
    )


def deployments_timeline(user) -> dict[str, list[Deployment]]:
    """Upcoming, live and ended deployments the person may see, for the schedule page."""
    qs = deployments_visible(user).order_by("starts_at")
    return {
        "live": [d for d in qs if d.status == S.LIVE],
        "upcoming": [d for d in qs if d.status in (S.DRAFT, S.SUBMITTED, S.AUTHORISED, S.SCHEDULED)],
        "ended": [d for d in qs.order_by("-ends_at") if d.status in FINISHED | {S.REJECTED}],
    }


def authorisations_overdue(now=None) -> QuerySet:
    """Urgent oral authorisations whose written confirmation is late."""
    now = now or clock.now()
    return Authorisation.objects.filter(urgent_oral=True, written_confirmation_at__isnull=True,
                                        written_confirmation_due_at__lt=now, superseded_at__isnull=True)


def edge_nodes_all(user) -> QuerySet:
    if not has_role_perm(user, "deployments.manage_edge_nodes"):
        return EdgeNode.objects.none()
    return EdgeNode.objects.annotate(deployment_count=Count("deployments"))


# --- Edge nodes: the token lookup --------------------------------------------------------------


def token_hash(token: str) -> str:
    """What is stored of an edge node's token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def edge_node_for_token(token: str) -> EdgeNode | None:
    """The active node holding this token, or None (unknown and revoked alike)."""
    if not token:
        return None
    return EdgeNode.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).first()


# The node and its live deployment within its window (the latest to start, if several), of only what the edge
# API needs of it (id, status, window); any other field loads when first used. Raw SQL: the edge API asks this
# on every request a node makes, and building the ORM query cost more CPU than running it.
_LIVE_FIELDS = ["id", "status", "starts_at", "ends_at"]
_NODE_FIELDS = [field.attname for field in EdgeNode._meta.concrete_fields]
_NODE_AND_LIVE_SQL = (
    f"SELECT {', '.join('n.' + field.column for field in EdgeNode._meta.concrete_fields)}, live.* "
    f"FROM {EdgeNode._meta.db_table} n LEFT JOIN LATERAL ("
    f"SELECT {', '.join('d.' + name for name in _LIVE_FIELDS)} FROM {Deployment._meta.db_table} d "
    f"JOIN {Deployment.edge_nodes.through._meta.db_table} bound ON bound.deployment_id = d.id "
    "WHERE bound.edgenode_id = n.id AND d.status = %s AND d.starts_at <= %s AND d.ends_at > %s "
    "ORDER BY d.starts_at DESC LIMIT 1"
    ") live ON true WHERE n.token_hash = %s AND n.revoked_at IS NULL LIMIT 1"
)


def edge_node_for_token_with_live(token: str, now=None) -> tuple[EdgeNode | None, Deployment | None]:
    """The active node holding this token and the live deployment it is bound to now (or None), in one query.
    The deployment carries only its id, status and window."""
    if not token:
        return None, None
    now = now or clock.now()
    with connection.cursor() as cursor:
        cursor.execute(_NODE_AND_LIVE_SQL, [S.LIVE, now, now, token_hash(token)])
        row = cursor.fetchone()
    if row is None:
        return None, None
    split = len(_NODE_FIELDS)
    node = EdgeNode.from_db(connection.alias, _NODE_FIELDS, row[:split])
    live = None if row[split] is None else Deployment.from_db(connection.alias, _LIVE_FIELDS, row[split:])
    return node, live


# --- The application and its authorisation -----------------------------------------------------


def pack_threshold_floor(pack_id: str) -> float | None:
    # Here and below, not at the top: the web process reads manifests and calibrations without loading
    # ONNX Runtime and OpenCV at start-up.
    from lfr_governance.faces import load_manifest

    return load_manifest(pack_id).threshold


def false_alert_chance_per_passer_by(fmr: float, watchlist_size: int) -> float:
    """p1 = 1 - (1 - FMR)^N: the chance that one look at the face of someone not on a watchlist of N entries scores
    at or above the threshold against at least one of them (log1p/expm1: exact where FMR is tiny). Never more than
    N x FMR, the figure per comparison."""
    if watchlist_size <= 0 or fmr <= 0:
        return 0.0
    if fmr >= 1:
        return 1.0
    return -math.expm1(watchlist_size * math.log1p(-fmr))


@dataclass(frozen=True)
class PasserByEstimate:
    """The authorising officer's estimate: false alerts per passer-by times the expected footfall.

    The calibration measures the false match rate (FMR) of one face against one entry, on still images. A passer-by
    is compared with every entry, so per passer-by the chance of a false alert is p1 = 1 - (1 - FMR)^N. With
    k = confirmation_frames >= 2 a passer-by alerts only when the same entry scores at or above the threshold in k
    frames of their track; those frames are of one face seconds apart, strongly correlated, so k lowers p1 by an
    amount only recorded footage measures (manage.py rehearse): p1 is the bound ("at most"). With k = 1 every frame
    is a chance, so p1 is an estimate ("about"), not a bound.
    """

    threshold: float
    fmr: float
    fmr_upper_95: float
    impostor_comparisons: int
    watchlist_size: int
    footfall: int
    confirmation_frames: int
    per_passer_by: float
    per_passer_by_upper_95: float
    expected: float  # footfall x per_passer_by
    expected_upper_95: float

    @property
    def is_bound(self) -> bool:
        """Whether `expected` is a bound (k >= 2: at most) rather than an estimate (k = 1: about)."""
        return self.confirmation_frames >= 2

    @property
    def per_comparison_expected(self) -> float:
        """The figure per comparison (watchlist size x footfall x FMR), which counts a passer-by once per entry."""
        return self.watchlist_size * self.footfall * self.fmr

    def as_record(self) -> dict:
        """What an authorisation keeps of the estimate the officer saw (Authorisation.estimate)."""
        return {"model": "per_passer_by", "expected": self.expected, "expected_upper_95": self.expected_upper_95,
                "per_passer_by": self.per_passer_by, "per_passer_by_upper_95": self.per_passer_by_upper_95,
                "fmr": self.fmr, "fmr_upper_95": self.fmr_upper_95, "threshold": self.threshold,
                "footfall": self.footfall, "watchlist_size": self.watchlist_size,
                "confirmation_frames": self.confirmation_frames, "bound": self.is_bound}


def deployment_estimate(deployment: Deployment, *, threshold: float | None = None) -> PasserByEstimate:
    """Expected false alerts: expected footfall x the chance per passer-by, 1 - (1 - FMR)^N, at the threshold."""
    from lfr_governance.faces import calibration_for_pack, expected_false_alerts

    calibration = calibration_for_pack(deployment.watchlist_version.pack_id)
    size, footfall = deployment.watchlist_version.size, deployment.expected_footfall
    # The pack's FMR at the threshold (and its 95% upper bound), read from the calibration: one comparison's worth.
    rates = expected_false_alerts(calibration, threshold if threshold is not None else deployment.threshold, 1, 1)
    p1 = false_alert_chance_per_passer_by(rates.fmr, size)
    p1_upper = false_alert_chance_per_passer_by(rates.fmr_upper_95, size)
    return PasserByEstimate(
        threshold=rates.threshold, fmr=rates.fmr, fmr_upper_95=rates.fmr_upper_95,
        impostor_comparisons=rates.impostor_comparisons, watchlist_size=size, footfall=footfall,
        confirmation_frames=deployment.confirmation_frames, per_passer_by=p1, per_passer_by_upper_95=p1_upper,
        expected=footfall * p1, expected_upper_95=footfall * p1_upper,
    )


def current_authorisation(deployment: Deployment) -> Authorisation | None:
    return deployment.authorisations.filter(decision=AuthorisationDecision.AUTHORISED,
                                            superseded_at__isnull=True).first()


def signage_in_place(deployment: Deployment, at=None) -> bool:
    at = at or clock.now()
    return deployment.signs.filter(placed_at__lte=at, removed_at__isnull=True).exists()


VERSION_DESTROYED = ("The watchlist version's images and templates were destroyed: it cannot be matched against. "
                     "Change the application to a current frozen version (a new authorisation).")
# While a deployment is in one of these, its watchlist version may not be destroyed (its frames need the gallery).
USES_ITS_WATCHLIST = (S.SCHEDULED, S.LIVE)


def version_in_use(version_id: int) -> list[str]:
    """The deployments that block destroying this watchlist version, as "LFR-00005 (live)" (registered for the
    watchlists app's destroy service and page)."""
    rows = (Deployment.objects.filter(watchlist_version_id=version_id, status__in=USES_ITS_WATCHLIST)
            .order_by("pk").values_list("pk", "status"))
    return [f"LFR-{pk:05d} ({S(status).label.lower()})" for pk, status in rows]


def pipeline_problems(deployment: Deployment) -> list[str]:
    """Why a live deployment's frames cannot be matched now (the matching app answers, through the registry)."""
    return registry.deployment_problems(deployment) if deployment.status == S.LIVE else []


def go_live_problems(deployment: Deployment, now=None) -> list[str]:
    now = now or clock.now()
    problems = []
    if deployment.status != S.SCHEDULED:
        problems.append(f"The deployment is {deployment.get_status_display().lower()}, not scheduled.")
    authorisation = current_authorisation(deployment)
    if authorisation is None:
        problems.append("There is no current authorisation.")
    elif authorisation.bound_watchlist_digest != deployment.watchlist_version.digest:
        problems.append("The watchlist digest differs from the one authorised.")
    if deployment.watchlist_version.status == VersionStatus.DESTROYED:
        problems.append(VERSION_DESTROYED)
    if not deployment.starts_at <= now < deployment.ends_at:
        problems.append("It is outside the authorised window.")
    if not signage_in_place(deployment, now):
        problems.append("No sign is recorded as placed: record the signage first.")
    return problems


# --- What a person may do with a deployment now -------------------------------------------------


@dataclass(frozen=True)
class DeploymentActions:
    """What this person may do with this deployment now. Pages, templates and the API read it; each service
    re-checks the same permission (permissions.allowed with the constants above) and the same status rule
    (deployments.choices) before it acts."""

    may_edit: bool  # change the application
    edit_returns_to_draft: bool  # changing what was authorised voids the authorisation
    may_submit: bool
    may_withdraw: bool
    may_schedule: bool
    may_open_authorisation: bool  # the authorising officer's page
    may_decide: bool  # authorise or reject, as the officer it is submitted to
    may_cancel: bool
    may_add_signs: bool
    may_remove_signs: bool
    may_add_leaflets: bool
    may_assign_operators: bool
    may_unassign_operators: bool  # in any state: taking access away is never too late
    may_review: bool

    @property
    def any_step(self) -> bool:
        """Whether the application has a next step this person may take (the page's "What you can do")."""
        return (self.may_edit or self.may_submit or self.may_withdraw or self.may_schedule
                or self.may_open_authorisation or self.may_cancel)


def deployment_actions(user, deployment: Deployment) -> DeploymentActions:
    held = {perm: allowed(user, deployment, perm) for perm in CANCELLERS}
    change, status = held[CHANGE], deployment.status
    return DeploymentActions(
        may_edit=change and status in CHANGEABLE,
        edit_returns_to_draft=status in REAUTHORISE_FROM,
        may_withdraw=change and status in WITHDRAWABLE,
        may_submit=change and transition_allowed(status, S.SUBMITTED),
        may_schedule=change and transition_allowed(status, S.SCHEDULED),
        may_open_authorisation=held[AUTHORISE],
        may_decide=held[AUTHORISE] and transition_allowed(status, S.AUTHORISED)
        and deployment.authorising_officer_id == user.pk,
        may_cancel=any(held.values()) and transition_allowed(status, S.CANCELLED),
        may_add_signs=change and status not in FINISHED,
        may_remove_signs=change,
        may_add_leaflets=change and status not in LEAFLETS_CLOSED,
        may_assign_operators=change and status not in FINISHED,
        may_unassign_operators=change,
        may_review=change and transition_allowed(status, S.REVIEWED),
    )


# --- The published record ------------------------------------------------------------------------


def deployment_figures(deployment: Deployment) -> dict:
    """What processing counted, per passer-by (no personal data): frames and faces from the counters, and what the
    matching app adds through the registry (passers-by, candidates, alerts per person and their outcomes)."""
    counters = getattr(deployment, "counters", None)
    return {
        "faces_processed": counters.faces_detected if counters else 0,
        "frames_processed": counters.frames_processed if counters else 0,
        **registry.published_figures(deployment),  # matching's figures (registered)
    }


def false_alert_rate(figures: dict) -> PerPasserBy:
    """False alerts per passer-by of a deployment's figures ("1 in N passers-by (p%)", or "no passers-by yet")."""
    return PerPasserBy(int(figures.get("false_alerts") or 0), int(figures.get("passers_by") or 0))


def published_record(deployment: Deployment) -> dict:
    """The publishable record: no personal data. The alert figures come from the matching app (registry)."""
    start, end = deployment.went_live_at or deployment.starts_at, deployment.ended_at or deployment.ends_at
    return {
        "reference": f"LFR-{deployment.pk:05d}",
        "date": timezone.localtime(deployment.starts_at).date().isoformat(),
        "place": deployment.location_name,
        "latitude": float(deployment.latitude),
        "longitude": float(deployment.longitude),
        "starts_at": deployment.starts_at.isoformat(),
        "ends_at": deployment.ends_at.isoformat(),
        "duration_minutes": int((end - start).total_seconds() // 60),
        "status": deployment.status,
        "watchlist_size": deployment.watchlist_version.size,
        **deployment_figures(deployment),
        "threshold": deployment.threshold,
        "confirmation_frames": deployment.confirmation_frames,
        "model_pack": deployment.watchlist_version.pack_id,
        "signs": deployment.signs.count(),
        "leaflets": deployment.leaflets.aggregate(n=Sum("count"))["n"] or 0,
        "purpose": deployment.offence_focus,
    }


def published_deployments() -> QuerySet:
    """Deployments whose record is public: authorised ones from scheduling on (not drafts or rejections)."""
    return Deployment.objects.filter(
        status__in=PUBLISHED
    ).select_related("watchlist_version").prefetch_related("signs", "leaflets").order_by("-starts_at")


# --- Who the applications give sight of a watchlist (registry: watchlist access kept) --------------


def ao_sees_watchlist(user, watchlist, *, excluding: int | None = None) -> bool:
    """Whether `user` is the authorising officer, still able to decide, of an application that uses `watchlist`
    (other than `excluding`): that grant gives them sight of it (services.deployment_submit)."""
    applications = Deployment.objects.filter(watchlist_version__watchlist=watchlist, authorising_officer=user)
    if excluding is not None:
        applications = applications.exclude(pk=excluding)
    return restrict(applications, user, AUTHORISE).exists()
