"""Reads for deployments, scoped to what the person may see, and what a person may do with one now."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from lfr_governance import clock
from lfr_governance.permissions import NOT_FOUND, allowed, get_for_user_or_404, has_role_perm, restrict, scope
from lfr_governance.rates import PerPasserBy, percent_text
from lfr_governance.registry import registry
from watchlists.choices import ImageState, VersionStatus

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
# API needs of it (id, status, window, and whether its frames can be matched: its watchlist version's status and
# digest, and the digest its current authorisation binds); any other field loads when first used. Raw SQL: the edge
# API asks this on every request a node makes, and building the ORM query cost more CPU than running it.
_LIVE_FIELDS = ["id", "status", "starts_at", "ends_at"]
_NODE_FIELDS = [field.attname for field in EdgeNode._meta.concrete_fields]
_VERSIONS = Deployment._meta.get_field("watchlist_version").related_model._meta.db_table
_NODE_AND_LIVE_SQL = (
    f"SELECT {', '.join('n.' + field.column for field in EdgeNode._meta.concrete_fields)}, live.* "
    f"FROM {EdgeNode._meta.db_table} n LEFT JOIN LATERAL ("
    f"SELECT {', '.join('d.' + name for name in _LIVE_FIELDS)}, v.status AS version_status, v.digest AS version_digest, "
    f"(SELECT a.bound_watchlist_digest FROM {Authorisation._meta.db_table} a WHERE a.deployment_id = d.id "
    "AND a.decision = %s AND a.superseded_at IS NULL ORDER BY a.decided_at DESC LIMIT 1) AS authorised_digest "
    f"FROM {Deployment._meta.db_table} d "
    f"JOIN {Deployment.edge_nodes.through._meta.db_table} bound ON bound.deployment_id = d.id "
    f"JOIN {_VERSIONS} v ON v.id = d.watchlist_version_id "
    "WHERE bound.edgenode_id = n.id AND d.status = %s AND d.starts_at <= %s AND d.ends_at > %s "
    "ORDER BY d.starts_at DESC LIMIT 1"
    ") live ON true WHERE n.token_hash = %s AND n.revoked_at IS NULL LIMIT 1"
)


@dataclass(frozen=True)
class WatchlistState:
    """What the database says of a live deployment's watchlist, as matching.selectors.deployment_problem reads it."""

    version_status: str
    version_digest: str
    authorised_digest: str | None


def edge_node_for_token_with_live(token: str, now=None) -> tuple[EdgeNode | None, Deployment | None]:
    """The active node holding this token and the live deployment it is bound to now (or None), in one query.
    The deployment carries only its id, status and window, and its `watchlist_state`."""
    if not token:
        return None, None
    now = now or clock.now()
    with connection.cursor() as cursor:
        cursor.execute(_NODE_AND_LIVE_SQL, [AuthorisationDecision.AUTHORISED, S.LIVE, now, now, token_hash(token)])
        row = cursor.fetchone()
    if row is None:
        return None, None
    split, state = len(_NODE_FIELDS), len(_NODE_FIELDS) + len(_LIVE_FIELDS)
    node = EdgeNode.from_db(connection.alias, _NODE_FIELDS, row[:split])
    live = None
    if row[split] is not None:
        live = Deployment.from_db(connection.alias, _LIVE_FIELDS, row[split:state])
        live.watchlist_state = WatchlistState(*row[state:state + 3])
    return node, live


# --- The application and its authorisation -----------------------------------------------------


# A passer-by is compared with every entry, so the same threshold gives more false alerts on a larger list: the
# threshold is proposed per imaging condition from the force's target (policy), the watchlist's size and images per
# entry, and k, out of the pack's calibration (matching/engine/thresholds.py, through lfr_governance.faces).

CONDITION_LABELS = {"colour": "Colour frames", "greyscale": "Greyscale (night-time) frames"}


def watchlist_images_per_entry(version) -> int:
    """The calibration's enrolment to read: 1 where any entry has only one accepted image (or none), else 2."""
    entries = version.entries.annotate(accepted=Count("images", filter=Q(images__state=ImageState.ACCEPTED)))
    if not entries.exists():
        return 1
    return 1 if entries.filter(accepted__lt=2).exists() else 2


class ProposalUnavailable(LookupError):
    """The pack's calibration cannot propose a threshold (missing, unreadable, old format); the message says what
    to do."""


def threshold_proposals(*, pack_id: str, watchlist_size: int, images_per_entry: int,
                        confirmation_frames: int) -> dict:
    """Per condition, the lowest calibrated threshold meeting the target (thresholds.Operating). ProposalUnavailable
    (with what to do) where the pack has no calibration in format 2."""
    # Here, not at the top: the web process reads calibrations without loading ONNX Runtime and OpenCV at start-up.
    from lfr_governance.faces import CONDITIONS, CalibrationMissing, threshold_propose

    try:
        return {condition: threshold_propose(pack_id, condition=condition,
                                             watchlist_size=max(int(watchlist_size), 1),
                                             confirmation_frames=int(confirmation_frames),
                                             images_per_entry=int(images_per_entry))
                for condition in CONDITIONS}
    except CalibrationMissing as exc:
        raise ProposalUnavailable(str(exc.args[0]) if exc.args else f"Model pack {pack_id} has no calibration.")
    except (KeyError, IndexError, TypeError) as exc:  # a calibration file missing a part thresholds.py reads
        raise ProposalUnavailable(f"The calibration of model pack {pack_id} is incomplete ({exc!r} missing): run "
                                  f"manage.py calibrate_packs --pack {pack_id} again.") from None


def per_passer_by_text(rate: float) -> str:
    """An expected rate per passer-by in the published wording: "1 in 1,200 passers-by (0.083%)"."""
    if not rate or rate <= 0:
        return "none (0%)"
    if rate >= 0.5:
        return f"{percent_text(rate)} of passers-by"
    return f"1 in {round(1 / rate):,} passers-by ({percent_text(rate)})"


@dataclass(frozen=True)
class ConditionFigures:
    """One imaging condition: the proposal for this deployment, and the figures at the threshold chosen."""

    condition: str
    threshold: float | None  # chosen; greyscale frames use the colour threshold where none was given
    proposal: Any  # thresholds.Operating at the proposed threshold, or None
    chosen: Any  # thresholds.Operating at the chosen threshold, or None
    footfall: int
    target: float
    error: str = ""

    @property
    def label(self) -> str:
        return CONDITION_LABELS.get(self.condition, self.condition)

    @property
    def qualifier(self) -> str:
        """k >= 2: the figures are the most to expect; k = 1: an estimate."""
        return "At most" if self.chosen is not None and self.chosen.is_bound else "About"

    @property
    def below_proposal(self) -> bool:
        return (self.proposal is not None and self.threshold is not None
                and self.threshold < self.proposal.threshold - 1e-9)

    @property
    def exceeds_target(self) -> bool:
        return self.chosen is not None and self.chosen.per_passer_by > self.target

    @property
    def measurable(self) -> bool:
        """Whether the calibration had comparisons enough to show a rate as low as the target for this list."""
        return self.proposal is None or bool(self.proposal.measurable)

    @property
    def expected(self) -> float:
        return self.chosen.over_footfall(self.footfall)[0] if self.chosen is not None else 0.0

    @property
    def expected_upper_95(self) -> float:
        return self.chosen.over_footfall(self.footfall)[1] if self.chosen is not None else 0.0

    @property
    def per_passer_by_text(self) -> str:
        return per_passer_by_text(self.chosen.per_passer_by) if self.chosen is not None else ""

    @property
    def per_passer_by_upper_text(self) -> str:
        return per_passer_by_text(self.chosen.per_passer_by_upper_95) if self.chosen is not None else ""

    @property
    def tpir_text(self) -> str:
        """The expected share of listed people found on one look, at the chosen threshold (held-out people)."""
        return percent_text(self.chosen.tpir) if self.chosen is not None else ""

    @property
    def target_text(self) -> str:
        return per_passer_by_text(self.target)

    @property
    def warnings(self) -> list[str]:
        """What the applicant and the authorising officer must read before relying on the figures."""
        found = []
        if self.exceeds_target:
            found.append(f"At {self.threshold:.2f} the expected false alerts per passer-by, "
                         f"{self.per_passer_by_text}, exceed the force's target of {self.target_text}.")
        if self.proposal is not None and not self.proposal.meets_target:
            found.append(f"No calibrated threshold is shown to meet the target (with 95% confidence) for a watchlist "
                         f"of {self.proposal.watchlist_size:,} entries: {self.proposal.threshold:.2f}, the threshold "
                         "with the smallest upper bound, is proposed. A smaller watchlist, or more frames to confirm "
                         "a match where it is 1, lowers the rate.")
        if not self.measurable:
            found.append(f"The calibration ({self.proposal.impostor_comparisons:,} comparisons of different people) "
                         f"cannot measure a rate as low as {self.target_text} for "
                         f"{self.proposal.watchlist_size:,} entries: the figures rest on the upper bound, not on "
                         "observed false matches.")
        return found

    def as_record(self) -> dict:
        return {
            "threshold": self.threshold, "error": self.error,
            "proposal": self.proposal.as_record() if self.proposal is not None else None,
            "chosen": self.chosen.as_record() if self.chosen is not None else None,
            "expected": self.expected, "expected_upper_95": self.expected_upper_95,
            "exceeds_target": self.exceeds_target, "measurable": self.measurable,
        }


@dataclass(frozen=True)
class ThresholdFigures:
    """Both conditions' proposals and the figures at the thresholds chosen, for one deployment's shape."""

    pack_id: str
    watchlist_size: int
    images_per_entry: int
    confirmation_frames: int
    footfall: int
    target: float
    looks_per_passer_by: int
    conditions: tuple  # of ConditionFigures, colour first
    error: str = ""  # the calibration cannot propose (missing, old format): what to do

    def get(self, condition: str) -> ConditionFigures | None:
        return next((c for c in self.conditions if c.condition == condition), None)

    def proposed(self, condition: str) -> float | None:
        figures = self.get(condition)
        return figures.proposal.threshold if figures is not None and figures.proposal is not None else None

    @property
    def is_bound(self) -> bool:
        return self.confirmation_frames >= 2

    @property
    def footfall_text(self) -> str:
        return f"{self.footfall:,}"

    @property
    def watchlist_size_text(self) -> str:
        return f"{self.watchlist_size:,}"

    def as_record(self) -> dict:
        """What an authorisation keeps of the figures the officer saw (Authorisation.estimate)."""
        colour = self.get("colour")
        return {
            "model": "threshold_from_target", "error": self.error, "pack": self.pack_id, "target": self.target,
            "looks_per_passer_by": self.looks_per_passer_by, "watchlist_size": self.watchlist_size,
            "images_per_entry": self.images_per_entry, "confirmation_frames": self.confirmation_frames,
            "footfall": self.footfall, "bound": self.is_bound,
            # The colour figures at the top, as every estimate since the first recorded them.
            "threshold": colour.threshold if colour else None,
            "expected": colour.expected if colour and colour.chosen else None,
            "expected_upper_95": colour.expected_upper_95 if colour and colour.chosen else None,
            "conditions": {c.condition: c.as_record() for c in self.conditions},
        }


def threshold_figures(*, pack_id: str, watchlist_size: int, images_per_entry: int, confirmation_frames: int,
                      footfall: int, chosen: dict) -> ThresholdFigures:
    """The proposals, and the figures at each `chosen[condition]` threshold (a missing or unusable one: none)."""
    from lfr_governance.faces import CONDITIONS, threshold_estimate

    target, looks = settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY, settings.LFR_LOOKS_PER_PASSER_BY
    shape = {"pack_id": pack_id, "watchlist_size": int(watchlist_size), "images_per_entry": int(images_per_entry),
             "confirmation_frames": int(confirmation_frames), "footfall": int(footfall or 0), "target": target,
             "looks_per_passer_by": looks}
    try:
        proposals = threshold_proposals(pack_id=pack_id, watchlist_size=watchlist_size,
                                        images_per_entry=images_per_entry, confirmation_frames=confirmation_frames)
    except (ProposalUnavailable, ValueError) as exc:
        error = str(exc.args[0]) if exc.args else f"Model pack {pack_id} cannot propose a threshold."
        return ThresholdFigures(**shape, conditions=tuple(
            ConditionFigures(condition=c, threshold=chosen.get(c), proposal=None, chosen=None,
                             footfall=shape["footfall"], target=target, error=error) for c in CONDITIONS),
            error=error)
    conditions = []
    for condition in CONDITIONS:
        threshold = chosen.get(condition)
        usable = isinstance(threshold, (int, float)) and math.isfinite(threshold) and 0 < threshold < 1
        at = threshold_estimate(pack_id, condition=condition, threshold=float(threshold),
                                watchlist_size=max(int(watchlist_size), 1),
                                confirmation_frames=int(confirmation_frames),
                                images_per_entry=int(images_per_entry)) if usable else None
        conditions.append(ConditionFigures(condition=condition, threshold=float(threshold) if usable else None,
                                           proposal=proposals[condition], chosen=at, footfall=shape["footfall"],
                                           target=target))
    return ThresholdFigures(**shape, conditions=tuple(conditions))


def greyscale_threshold(deployment: Deployment) -> float | None:
    """The threshold greyscale frames use: their own, or the colour one on applications made before it existed."""
    return deployment.threshold_greyscale if deployment.threshold_greyscale is not None else deployment.threshold


def deployment_thresholds(deployment: Deployment) -> ThresholdFigures:
    """The deployment's proposals and the figures at its thresholds, both conditions."""
    version = deployment.watchlist_version
    return threshold_figures(
        pack_id=version.pack_id, watchlist_size=version.size, images_per_entry=watchlist_images_per_entry(version),
        confirmation_frames=deployment.confirmation_frames, footfall=deployment.expected_footfall or 0,
        chosen={"colour": deployment.threshold, "greyscale": greyscale_threshold(deployment)})


def equitability_table(pack_id: str, threshold: float | None) -> dict:
    """The calibration's false match rate per demographic group at `threshold` (rows with their words), or the
    reason there is none. Counts of comparisons only: no personal data."""
    from lfr_governance.faces import CalibrationMissing, pack_equitability

    if threshold is None or not math.isfinite(threshold):
        return {"rows": [], "threshold": None, "error": "There is no threshold to read the table at."}
    try:
        rows = pack_equitability(pack_id, threshold)
    except CalibrationMissing as exc:
        return {"rows": [], "threshold": threshold, "error": str(exc.args[0]) if exc.args else "No calibration."}
    except (KeyError, IndexError, TypeError, ValueError):
        rows = None
    if not rows:
        return {"rows": [], "threshold": threshold,
                "error": f"The calibration of model pack {pack_id} has no equitability table: run manage.py "
                         f"calibrate_packs --pack {pack_id} again."}
    return {"rows": rows, "threshold": rows[0]["threshold"], "error": ""}


def pack_published(pack_id: str) -> dict | None:
    """What a pack's public page shows (lfr_governance.faces.pack_summary), or None for a pack nobody knows."""
    from lfr_governance.faces import known_packs, pack_summary

    if pack_id not in known_packs():
        return None
    summary = pack_summary(pack_id)
    if not summary["error"]:
        summary["table"] = {"rows": summary["equitability"], "threshold": summary["equitability_threshold"],
                            "error": "" if summary["equitability"] else (
                                f"The calibration of model pack {pack_id} has no equitability table: run "
                                f"manage.py calibrate_packs --pack {pack_id} again.")}
    return summary


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
