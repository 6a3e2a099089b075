"""Writes for deployments: application, authorisation, schedule, go-live, end, review; edge nodes.

Every transition locks the row, checks the one table in choices.TRANSITIONS, writes its audit row
in the same transaction, and is its own function (there is no writable status field).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.timezone import localtime
from guardian.shortcuts import assign_perm, remove_perm

from lfr_governance import clock
from lfr_governance.accounts.choices import Role, rank_at_least
from lfr_governance.accounts.roles import user_has_role
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.dates import date_range_problem
from lfr_governance.errors import Conflict
from lfr_governance.files import atomic_with_files
from lfr_governance.given import NOT_GIVEN, NotGiven, given
from lfr_governance.images import image_check
from lfr_governance.permissions import allowed, has_role_perm, require, restrict
from watchlists.choices import VersionStatus
from watchlists.models import Watchlist, WatchlistUserObjectPermission, WatchlistVersion

from .choices import (
    CHANGEABLE, FINISHED, LEAFLETS_CLOSED, REAUTHORISE_FROM, WITHDRAWABLE, AuthorisationDecision, DeploymentStatus,
    transition_allowed,
)
from .models import (
    Authorisation,
    Deployment,
    DeploymentCounters,
    DeploymentUserObjectPermission,
    EdgeNode,
    LeafletRecord,
    PostDeploymentReview,
    SignageRecord,
)
from .selectors import (
    AUTHORISE,
    CANCELLERS,
    CHANGE,
    VERSION_DESTROYED,
    ProposalUnavailable,
    ao_sees_watchlist,
    deployment_thresholds,
    go_live_problems,
    greyscale_threshold,
    threshold_proposals,
    token_hash,
    watchlist_images_per_entry,
)

S = DeploymentStatus
APPLICATION_FIELDS = (
    "title", "purpose", "offence_focus", "intelligence_case_ref", "location_name", "latitude", "longitude",
    "area_radius_m", "area_polygon", "location_reason", "starts_at", "ends_at", "threshold", "threshold_greyscale",
    "threshold_justification", "confirmation_frames", "expected_footfall", "necessity_proportionality", "dpia_ref",
    "community_impact", "engagement_notes", "public_prenotice",
)
# What an authorisation binds (GOVERNANCE.md): changing any of it needs a new authorisation.
BOUND_FIELDS = ("location_name", "latitude", "longitude", "area_radius_m", "area_polygon", "starts_at", "ends_at",
                "threshold", "threshold_greyscale", "confirmation_frames")
TEAM_PERMS = ("view_deployment", "change_deployment")
AO_PERMS = ("view_deployment", "authorise_deployment")
OPERATOR_PERMS = ("view_deployment", "operate_deployment")
AO_WATCHLIST_PERMS = ("view_watchlist", "view_watchlist_images")  # on the watchlist the application uses


NOT_ALLOWED = "You are not allowed to do this on this deployment."
# k, the frames of one passer-by that must score at or above the threshold for the same entry (the model's range).
CONFIRMATION_FRAMES_RANGE = (1, 10)


def _lock(deployment: Deployment) -> Deployment:
    return Deployment.objects.select_for_update().select_related("watchlist_version").get(pk=deployment.pk)


def _lock_watchlist_version(deployment: Deployment) -> WatchlistVersion:
    """Locks the version a deployment is about to use: the watchlists' destroy service holds the same lock while
    it checks that no scheduled or live deployment uses it, so the two cannot pass each other."""
    version = WatchlistVersion.objects.select_for_update().get(pk=deployment.watchlist_version_id)
    deployment.watchlist_version = version
    return version


def _transition(deployment: Deployment, new: str, *, actor, event: str, changes: dict | None = None,
                actor_label: str = "") -> Deployment:
    if not transition_allowed(deployment.status, new):
        raise ValidationError(
            f"A deployment that is {deployment.get_status_display().lower()} cannot become "
            f"{S(new).label.lower()}."
        )
    old = deployment.status
    deployment.status = new
    deployment.save(update_fields=["status", "updated_at", "went_live_at", "ended_at", "cancelled_reason"])
    record(action=Action.ALTERATION, event=event, actor=actor, actor_label=actor_label, target=deployment,
           deployment_id=deployment.pk, changes={"status": [old, new], **(changes or {})})
    return deployment


# --- Edge nodes ------------------------------------------------------------------------------


@transaction.atomic
def edge_node_register(*, actor, name: str, camera_description: str, location_description: str = "",
                       latitude: Decimal | None = None, longitude: Decimal | None = None) -> tuple[EdgeNode, str]:
    """Registers a node and returns its token: shown this once, stored only as a hash."""
    if not has_role_perm(actor, "deployments.manage_edge_nodes"):
        raise PermissionDenied("Only an administrator can register edge nodes.")
    token = "lfr_" + secrets.token_urlsafe(32)
    node = EdgeNode(name=name, camera_description=camera_description, location_description=location_description,
                    latitude=latitude, longitude=longitude, token_hash=token_hash(token), token_prefix=token[:10],
                    registered_by=actor)
    node.full_clean()
    node.save()
    record(action=Action.COLLECTION, event="edge_node.register", actor=actor, target=node,
           changes={"name": name, "token_prefix": node.token_prefix})
    return node, token


@transaction.atomic
def edge_node_revoke(*, actor, node: EdgeNode) -> EdgeNode:
    if not has_role_perm(actor, "deployments.manage_edge_nodes"):
        raise PermissionDenied("Only an administrator can revoke edge nodes.")
    node = EdgeNode.objects.select_for_update().get(pk=node.pk)
    if node.revoked_at is None:
        node.revoked_at = clock.now()
        node.save(update_fields=["revoked_at"])
        record(action=Action.ALTERATION, event="edge_node.revoke", actor=actor, target=node,
               changes={"token_prefix": node.token_prefix})
    return node


# --- Application -----------------------------------------------------------------------------


def _dates_check(errors: dict[str, str], **fields: tuple) -> None:
    """Adds to `errors` each given date or time (name=(value, noun)) outside the policy's range."""
    for name, (value, noun) in fields.items():
        if problem := date_range_problem(value, noun=noun):
            errors[name] = problem


def confirmation_frames_problem(value: Any) -> str:
    """Why `value` cannot be k, the frames to confirm a match, or "" (a whole number in range; never a bool)."""
    low, high = CONFIRMATION_FRAMES_RANGE
    if isinstance(value, bool) or not isinstance(value, int):
        return (f"Give the frames to confirm a match as a whole number from {low} to {high}, e.g. 2: a passer-by then "
                "alerts only when the same watchlisted person scores at or above the threshold in at least 2 frames.")
    if not low <= value <= high:
        return (f"The frames to confirm a match must be from {low} to {high}: {low} alerts on a single frame, more "
                "frames give fewer false alerts but need the person in view for longer. Give a number such as 2.")
    return ""


THRESHOLD_NOUNS = {"threshold": "match threshold for colour frames",
                   "threshold_greyscale": "match threshold for greyscale (night-time) frames"}


def threshold_problem(value: Any, noun: str, *, optional: bool = False) -> str:
    """Why `value` cannot be a match threshold, or "" (a finite number strictly between 0 and 1; never a bool)."""
    if value is None:
        return "" if optional else f"Give the {noun}: a number between 0 and 1, such as the proposed threshold."
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"Give the {noun} as a number between 0 and 1, e.g. 0.45."
    if not math.isfinite(value):
        return f"The {noun} must be a number between 0 and 1 (both excluded): {value} is not a number in range."
    if not 0 < value < 1:
        return f"The {noun} must be between 0 and 1 (both excluded); {value:g} is not. Give a number such as 0.45."
    return ""


def _threshold_check(errors: dict[str, str], deployment: Deployment) -> None:
    """Each threshold in range; below its condition's proposal (from the target, the watchlist and k) it needs the
    recorded justification. Where the calibration cannot propose, the application cannot be checked."""
    version, proposals = deployment.watchlist_version, None
    if version.status == VersionStatus.FROZEN and "confirmation_frames" not in errors:
        try:
            proposals = threshold_proposals(pack_id=version.pack_id, watchlist_size=version.size,
                                            images_per_entry=watchlist_images_per_entry(version),
                                            confirmation_frames=deployment.confirmation_frames)
        except ProposalUnavailable as exc:
            errors["watchlist_version"] = (f"{exc.args[0]} The threshold follows from the pack's calibration, so the "
                                           "application cannot be checked until then.")
    for name, noun in THRESHOLD_NOUNS.items():
        # Left out because nothing could be proposed: the calibration's message above says why.
        optional = name == "threshold_greyscale" or "watchlist_version" in errors
        if problem := threshold_problem(getattr(deployment, name), noun, optional=optional):
            errors[name] = problem
    if proposals is None or errors.keys() & {"threshold", "threshold_greyscale"} or deployment.threshold is None:
        return
    chosen = {"colour": deployment.threshold, "greyscale": greyscale_threshold(deployment)}
    below = [(condition, chosen[condition], proposal.threshold) for condition, proposal in proposals.items()
             if chosen[condition] < proposal.threshold - 1e-9]
    if below and not (deployment.threshold_justification or "").strip():
        errors["threshold_justification"] = " ".join(
            f"{value:.2f} for {condition} frames is below the proposed threshold of {proposal:.2f}, which meets the "
            f"target of at most {settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY:g} false alerts per passer-by for "
            f"this watchlist ({version.size:,} entries) and {deployment.confirmation_frames} frame(s) to confirm a "
            "match." for condition, value, proposal in below
        ) + " Record why a lower threshold is justified, or raise it to the proposal."


def _watchlist_cap_check(deployment: Deployment) -> None:
    """An application whose watchlist version exceeds the force's cap is refused (submission and authorisation)."""
    cap, size = settings.LFR_WATCHLIST_MAX_ENTRIES, deployment.watchlist_version.size
    if size > cap:
        raise ValidationError({"watchlist_version": (
            f"The watchlist version has {size:,} entries, more than the force's cap of {cap:,}: a larger list gives "
            "more false alerts at the same threshold. Reduce the watchlist to the people this operation needs, "
            "freeze the new version and choose it.")})


def _validate(deployment: Deployment) -> None:
    errors: dict[str, str] = {}
    version = deployment.watchlist_version
    if version.status != VersionStatus.FROZEN:
        errors["watchlist_version"] = "Choose a frozen watchlist version: only a frozen version can be deployed."
    _dates_check(errors, starts_at=(deployment.starts_at, "The start"), ends_at=(deployment.ends_at, "The end"))
    if deployment.starts_at and deployment.ends_at and not errors.keys() & {"starts_at", "ends_at"}:
        if deployment.ends_at <= deployment.starts_at:
            errors["ends_at"] = "The end must be after the start."
        elif deployment.ends_at - deployment.starts_at > timedelta(hours=settings.LFR_DEPLOYMENT_MAX_HOURS):
            errors["ends_at"] = (f"A deployment may last at most {settings.LFR_DEPLOYMENT_MAX_HOURS} hours: "
                                 "split a longer operation into separate applications.")
    polygon = deployment.area_polygon or []
    if not deployment.area_radius_m and len(polygon) < 3:
        errors["area_radius_m"] = "Bound the area: give a radius in metres or a polygon of at least three points."
    if polygon and not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in polygon):
        errors["area_polygon"] = "Give the polygon as [[latitude, longitude], ...]."
    if deployment.latitude is not None and not (-90 <= float(deployment.latitude) <= 90):
        errors["latitude"] = "Latitude must be between -90 and 90."
    if deployment.longitude is not None and not (-180 <= float(deployment.longitude) <= 180):
        errors["longitude"] = "Longitude must be between -180 and 180."
    if problem := confirmation_frames_problem(deployment.confirmation_frames):
        errors["confirmation_frames"] = problem
    _threshold_check(errors, deployment)
    if errors:
        raise ValidationError(errors)
    deployment.full_clean(exclude=["applicant", "team", "watchlist_version", "authorising_officer"])


def _watchlist_version_for(actor, version: WatchlistVersion) -> WatchlistVersion:
    visible = restrict(Watchlist.objects.filter(pk=version.watchlist_id), actor, "watchlists.view_watchlist")
    if not visible.exists():
        raise ValidationError({"watchlist_version": "Choose a watchlist you can see."})
    return version


@transaction.atomic
def deployment_create(
    *, actor, watchlist_version: WatchlistVersion, edge_nodes: Iterable[EdgeNode] = (), title: str, purpose: str,
    offence_focus: str, intelligence_case_ref: str, location_name: str, latitude: Decimal, longitude: Decimal,
    area_radius_m: int | None | NotGiven = NOT_GIVEN, area_polygon: list[list[float]] | NotGiven = NOT_GIVEN,
    location_reason: str, starts_at: datetime, ends_at: datetime,
    threshold: float | None | NotGiven = NOT_GIVEN,  # the colour proposal when not given
    threshold_greyscale: float | None | NotGiven = NOT_GIVEN,  # the greyscale proposal when not given
    threshold_justification: str | NotGiven = NOT_GIVEN,
    confirmation_frames: int | NotGiven = NOT_GIVEN,  # the model's default (2) when not given
    expected_footfall: int, necessity_proportionality: str, dpia_ref: str, community_impact: str,
    engagement_notes: str | NotGiven = NOT_GIVEN, public_prenotice: str,
) -> Deployment:
    values = given(locals(), APPLICATION_FIELDS)
    if not has_role_perm(actor, "deployments.add_deployment"):
        raise PermissionDenied("Only an intelligence officer can apply for a deployment.")
    team = actor.profile.team
    if team is None:
        raise ValidationError("You belong to no team; ask an administrator to set your team first.")
    _watchlist_version_for(actor, watchlist_version)
    if (values.get("threshold") is None or values.get("threshold_greyscale") is None) and watchlist_version.pack_id:
        _proposals_fill(values, watchlist_version)
    deployment = Deployment(applicant=actor, team=team, watchlist_version=watchlist_version, **values)
    _validate(deployment)
    deployment.save()
    deployment.edge_nodes.set(edge_nodes)
    DeploymentCounters.objects.create(deployment=deployment)
    for perm in TEAM_PERMS:
        assign_perm(perm, team.group, deployment)
    record(action=Action.COLLECTION, event="deployment.create", actor=actor, target=deployment,
           deployment_id=deployment.pk, changes={"title": deployment.title, "watchlist_version": watchlist_version.pk,
                                                 "digest": watchlist_version.digest})
    return deployment


def _proposals_fill(values: dict[str, Any], version: WatchlistVersion) -> None:
    """The thresholds left out become their condition's proposal (left empty where none can be made: the validation
    then says why)."""
    k = values.get("confirmation_frames", Deployment._meta.get_field("confirmation_frames").default)
    if confirmation_frames_problem(k):
        return
    try:
        proposals = threshold_proposals(pack_id=version.pack_id, watchlist_size=version.size,
                                        images_per_entry=watchlist_images_per_entry(version), confirmation_frames=k)
    except ProposalUnavailable:
        return
    for name, condition in (("threshold", "colour"), ("threshold_greyscale", "greyscale")):
        if values.get(name) is None:
            values[name] = proposals[condition].threshold


def _snapshot(deployment: Deployment) -> dict[str, Any]:
    values = {name: getattr(deployment, name) for name in BOUND_FIELDS}
    # Normalised, so the same place or time written another way is not taken for a change.
    for key in ("latitude", "longitude"):
        values[key] = str(Decimal(str(values[key])).quantize(Decimal("0.000001")))
    for key in ("starts_at", "ends_at"):
        values[key] = values[key].astimezone(dt_timezone.utc).isoformat()
    values["threshold"] = round(float(values["threshold"]), 4)
    # What greyscale frames use: an application made before it existed uses the colour threshold for them.
    values["threshold_greyscale"] = round(float(greyscale_threshold(deployment)), 4)
    values["confirmation_frames"] = int(values["confirmation_frames"])
    values["edge_nodes"] = sorted(deployment.edge_nodes.values_list("pk", flat=True))
    values["watchlist_version"] = deployment.watchlist_version_id
    values["watchlist_digest"] = deployment.watchlist_version.digest
    return values


@transaction.atomic
def deployment_update(
    *, actor, deployment: Deployment, edge_nodes: Iterable[EdgeNode] | None = None,
    watchlist_version: WatchlistVersion | None = None, title: str | NotGiven = NOT_GIVEN,
    purpose: str | NotGiven = NOT_GIVEN, offence_focus: str | NotGiven = NOT_GIVEN,
    intelligence_case_ref: str | NotGiven = NOT_GIVEN, location_name: str | NotGiven = NOT_GIVEN,
    latitude: Decimal | NotGiven = NOT_GIVEN, longitude: Decimal | NotGiven = NOT_GIVEN,
    area_radius_m: int | None | NotGiven = NOT_GIVEN, area_polygon: list[list[float]] | NotGiven = NOT_GIVEN,
    location_reason: str | NotGiven = NOT_GIVEN, starts_at: datetime | NotGiven = NOT_GIVEN,
    ends_at: datetime | NotGiven = NOT_GIVEN, threshold: float | NotGiven = NOT_GIVEN,
    threshold_greyscale: float | NotGiven = NOT_GIVEN,
    threshold_justification: str | NotGiven = NOT_GIVEN, confirmation_frames: int | NotGiven = NOT_GIVEN,
    expected_footfall: int | NotGiven = NOT_GIVEN, necessity_proportionality: str | NotGiven = NOT_GIVEN,
    dpia_ref: str | NotGiven = NOT_GIVEN, community_impact: str | NotGiven = NOT_GIVEN,
    engagement_notes: str | NotGiven = NOT_GIVEN, public_prenotice: str | NotGiven = NOT_GIVEN,
) -> Deployment:
    """Changes the fields given; a change to what was authorised returns it to draft for a new authorisation."""
    fields = given(locals(), APPLICATION_FIELDS)
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if deployment.status not in CHANGEABLE:
        raise ValidationError(f"A deployment that is {deployment.get_status_display().lower()} can no longer be "
                              "changed; cancel it instead.")
    before = _snapshot(deployment)
    old = {name: getattr(deployment, name) for name in fields}
    for name, value in fields.items():
        setattr(deployment, name, value)
    if watchlist_version is not None:
        deployment.watchlist_version = _watchlist_version_for(actor, watchlist_version)
    _validate(deployment)
    deployment.save()
    if edge_nodes is not None:
        deployment.edge_nodes.set(edge_nodes)
    after = _snapshot(deployment)
    changed = {k: v for k, v in old.items() if getattr(deployment, k) != v}
    record(action=Action.ALTERATION, event="deployment.update", actor=actor, target=deployment,
           deployment_id=deployment.pk,
           changes={"fields": sorted(changed) + (["edge_nodes"] if before["edge_nodes"] != after["edge_nodes"] else [])
                    + (["watchlist_version"] if before["watchlist_version"] != after["watchlist_version"] else [])})
    if deployment.status in REAUTHORISE_FROM and before != after:
        Authorisation.objects.filter(deployment=deployment, superseded_at__isnull=True).update(superseded_at=clock.now())
        _transition(deployment, S.DRAFT, actor=actor, event="deployment.return_to_draft",
                    changes={"reason": "what the authorisation binds was changed"})
    return deployment


@transaction.atomic
def deployment_submit(*, actor, deployment: Deployment, authorising_officer) -> Deployment:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if authorising_officer.pk == deployment.applicant_id or authorising_officer.pk == actor.pk:
        raise ValidationError({"authorising_officer": "The applicant cannot authorise their own application: "
                                                      "choose another officer."})
    _check_ao(authorising_officer)
    _validate(deployment)
    _watchlist_cap_check(deployment)
    if not deployment.edge_nodes.exists():
        raise ValidationError({"edge_nodes": "Choose at least one edge node."})
    if deployment.authorising_officer_id and deployment.authorising_officer_id != authorising_officer.pk:
        # Submitted before to another officer (then withdrawn or returned to draft): they decide it no longer.
        _authorising_officer_release(deployment, deployment.authorising_officer, actor=actor)
    deployment.authorising_officer = authorising_officer
    deployment.save(update_fields=["authorising_officer", "updated_at"])
    for perm in AO_PERMS:
        assign_perm(perm, authorising_officer, deployment)
    # The authorising officer of a deployment that uses a watchlist may see it (GOVERNANCE.md).
    for perm in AO_WATCHLIST_PERMS:
        assign_perm(perm, authorising_officer, deployment.watchlist_version.watchlist)
    return _transition(deployment, S.SUBMITTED, actor=actor, event="deployment.submit",
                       changes={"authorising_officer": authorising_officer.get_username()})


def _held(user, deployment: Deployment, perms: Iterable[str]) -> list[str]:
    """Which of `perms` (codenames) `user` holds on `deployment` by name (not through a group)."""
    return sorted(DeploymentUserObjectPermission.objects.filter(
        user=user, content_object=deployment, permission__codename__in=list(perms),
    ).values_list("permission__codename", flat=True))


def _authorising_officer_release(deployment: Deployment, officer, *, actor) -> None:
    """Takes back what submitting the application to `officer` gave (deployment_submit): deciding and cancelling
    it, seeing it (unless they also operate it), and seeing its watchlist (unless another grant still needs that:
    an assigned reviewer, or the officer of another application that uses it). Audited; nothing is written when
    they hold none of it."""
    keep_view = deployment.operators.filter(pk=officer.pk).exists()
    on_deployment = _held(officer, deployment, [p for p in AO_PERMS if not (keep_view and p == "view_deployment")])
    watchlist = deployment.watchlist_version.watchlist
    keep_watchlist = (
        ao_sees_watchlist(officer, watchlist, excluding=deployment.pk)
        or WatchlistUserObjectPermission.objects.filter(user=officer, content_object=watchlist,
                                                        permission__codename="review_watchlist").exists()
    )
    on_watchlist = [] if keep_watchlist else sorted(WatchlistUserObjectPermission.objects.filter(
        user=officer, content_object=watchlist, permission__codename__in=AO_WATCHLIST_PERMS,
    ).values_list("permission__codename", flat=True))
    if not on_deployment and not on_watchlist:
        return
    for perm in on_deployment:
        remove_perm(perm, officer, deployment)
    for perm in on_watchlist:
        remove_perm(perm, officer, watchlist)
    record(action=Action.ALTERATION, event="deployment.authorising_officer_release", actor=actor, target=deployment,
           deployment_id=deployment.pk,
           changes={"authorising_officer": officer.get_username(), "deployment_permissions": on_deployment,
                    "watchlist_permissions": on_watchlist})


def _check_ao(user) -> None:
    if not user_has_role(user, Role.AUTHORISING_OFFICER):
        raise ValidationError({"authorising_officer": f"{user.get_username()} is not an authorising officer."})
    minimum = settings.LFR_AO_MIN_RANK
    if not rank_at_least(user.profile.rank, minimum):
        raise ValidationError({"authorising_officer": (
            f"{user.get_username()} is a {user.profile.get_rank_display()}; authorisation needs the rank of "
            f"{minimum.replace('_', ' ')} or above.")})


@transaction.atomic
def deployment_withdraw(*, actor, deployment: Deployment) -> Deployment:
    """The applicant takes a submitted (or rejected) application back to draft."""
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if deployment.status not in WITHDRAWABLE:
        raise ValidationError(f"Only a submitted or rejected application can be withdrawn; this one is "
                              f"{deployment.get_status_display().lower()}. Change it or cancel it instead.")
    deployment = _transition(deployment, S.DRAFT, actor=actor, event="deployment.withdraw")
    Authorisation.objects.filter(deployment=deployment, superseded_at__isnull=True).update(superseded_at=clock.now())
    # No longer before its authorising officer: they neither decide, cancel nor see it until it is submitted again.
    if deployment.authorising_officer_id:
        _authorising_officer_release(deployment, deployment.authorising_officer, actor=actor)
    return deployment


def _decide(actor, deployment: Deployment) -> Deployment:
    require(actor, deployment, AUTHORISE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if actor.pk == deployment.applicant_id:
        raise PermissionDenied("You applied for this deployment, so another officer must authorise it.")
    try:
        _check_ao(actor)
    except ValidationError as exc:
        raise PermissionDenied(" ".join(exc.messages))
    return deployment


@transaction.atomic
def deployment_authorise(*, actor, deployment: Deployment, reasons: str, urgent_oral: bool = False) -> Authorisation:
    deployment = _decide(actor, deployment)
    if not reasons.strip():
        raise ValidationError({"reasons": "Record the reasons for the authorisation."})
    _validate(deployment)
    _watchlist_cap_check(deployment)
    now = clock.now()
    estimate = deployment_thresholds(deployment)
    authorisation = Authorisation.objects.create(
        deployment=deployment, authorising_officer=actor, decision=AuthorisationDecision.AUTHORISED,
        reasons=reasons.strip(), decided_at=now, urgent_oral=urgent_oral,
        written_confirmation_due_at=now + timedelta(hours=settings.LFR_URGENT_CONFIRMATION_HOURS) if urgent_oral else None,
        bound_watchlist_digest=deployment.watchlist_version.digest, bound=_snapshot(deployment),
        estimate=estimate.as_record(),
    )
    _transition(deployment, S.AUTHORISED, actor=actor, event="deployment.authorise",
                changes={"authorisation": authorisation.pk, "urgent_oral": urgent_oral,
                         "digest": authorisation.bound_watchlist_digest})
    return authorisation


@transaction.atomic
def deployment_reject(*, actor, deployment: Deployment, reasons: str) -> Authorisation:
    deployment = _decide(actor, deployment)
    if not reasons.strip():
        raise ValidationError({"reasons": "Say why the application is rejected, so the applicant can act on it."})
    authorisation = Authorisation.objects.create(
        deployment=deployment, authorising_officer=actor, decision=AuthorisationDecision.REJECTED,
        reasons=reasons.strip(), decided_at=clock.now(), bound_watchlist_digest=deployment.watchlist_version.digest,
        bound=_snapshot(deployment),
    )
    _transition(deployment, S.REJECTED, actor=actor, event="deployment.reject", changes={"reasons": reasons.strip()})
    return authorisation


@transaction.atomic
def authorisation_confirm_in_writing(*, actor, authorisation: Authorisation, text: str) -> Authorisation:
    authorisation = Authorisation.objects.select_for_update().get(pk=authorisation.pk)
    if authorisation.authorising_officer_id != actor.pk:
        raise PermissionDenied("Only the officer who gave the oral authorisation can confirm it in writing.")
    if not authorisation.urgent_oral or authorisation.written_confirmation_at:
        raise ValidationError("This authorisation needs no written confirmation.")
    if not text.strip():
        raise ValidationError({"text": "Write the confirmation."})
    authorisation.written_confirmation_at, authorisation.written_confirmation_text = clock.now(), text.strip()
    authorisation.save()
    record(action=Action.ALTERATION, event="deployment.authorisation_confirm", actor=actor, target=authorisation,
           deployment_id=authorisation.deployment_id,
           changes={"late": authorisation.written_confirmation_at > authorisation.written_confirmation_due_at})
    return authorisation


@transaction.atomic
def deployment_schedule(*, actor, deployment: Deployment) -> Deployment:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if deployment.ends_at <= clock.now():
        raise ValidationError("The deployment window has already passed: change the times (a new authorisation).")
    if deployment.edge_nodes.filter(revoked_at__isnull=False).exists():
        raise ValidationError({"edge_nodes": "An edge node of this deployment has been revoked: replace it."})
    if _lock_watchlist_version(deployment).status == VersionStatus.DESTROYED:
        raise ValidationError({"watchlist_version": VERSION_DESTROYED})
    return _transition(deployment, S.SCHEDULED, actor=actor, event="deployment.schedule")


@transaction.atomic
def deployment_go_live(*, deployment: Deployment, actor=None) -> Deployment:
    """Opens processing (beat calls this at the start time); refused unless every condition holds."""
    deployment = _lock(deployment)
    _lock_watchlist_version(deployment)
    problems = go_live_problems(deployment)
    if problems:
        raise ValidationError(problems)
    deployment.went_live_at = clock.now()
    return _transition(deployment, S.LIVE, actor=actor, actor_label="" if actor else "schedule",
                       event="deployment.go_live")


@transaction.atomic
def deployment_end(*, deployment: Deployment, actor=None, reason: str = "end time reached") -> Deployment:
    deployment = _lock(deployment)
    deployment.ended_at = clock.now()
    return _transition(deployment, S.ENDED, actor=actor, actor_label="" if actor else "schedule",
                       event="deployment.end", changes={"reason": reason})


@transaction.atomic
def deployment_cancel(*, actor, deployment: Deployment, reason: str) -> Deployment:
    deployment = _lock(deployment)
    if not any(allowed(actor, deployment, perm) for perm in CANCELLERS):
        raise PermissionDenied("Only the applicant's team or the authorising officer can cancel this deployment.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the deployment is cancelled."})
    deployment.cancelled_reason = reason.strip()
    return _transition(deployment, S.CANCELLED, actor=actor, event="deployment.cancel", changes={"reason": reason})


def deployments_schedule_tick(now=None) -> dict[str, list[int]]:
    """Beat's job: open processing at each start time and close it at each end time."""
    now = now or clock.now()
    opened, closed, refused = [], [], []
    for deployment in Deployment.objects.filter(status=S.SCHEDULED, starts_at__lte=now, ends_at__gt=now):
        try:
            deployment_go_live(deployment=deployment)
            opened.append(deployment.pk)
        except ValidationError:
            refused.append(deployment.pk)  # stays scheduled; the page shows why
    for deployment in Deployment.objects.filter(status__in=[S.LIVE, S.SCHEDULED], ends_at__lte=now):
        reason = "end time reached" if deployment.status == S.LIVE else "window passed without going live"
        deployment_end(deployment=deployment, reason=reason)
        closed.append(deployment.pk)
    return {"opened": opened, "closed": closed, "not_ready": refused}


# --- Signage, leaflets, operators, review ------------------------------------------------------


@atomic_with_files
def signage_record_add(*, actor, deployment: Deployment, position_description: str, latitude, longitude, size: str,
                       placed_at, photo: bytes | None = None, photo_name: str = "sign.jpg") -> SignageRecord:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    if deployment.status in FINISHED:
        raise ValidationError("The deployment is over: signage can no longer be added.")
    errors: dict[str, str] = {}
    _dates_check(errors, placed_at=(placed_at, "The time the sign was placed"))
    if errors:
        raise ValidationError(errors)
    sign = SignageRecord(deployment=deployment, position_description=position_description, latitude=latitude,
                         longitude=longitude, size=size, placed_at=placed_at, placed_by=actor)
    if photo:
        checked = image_check(photo, filename=photo_name)
        sign.photo = ContentFile(checked.data, name=f"{checked.sha256[:16]}.img")
    sign.full_clean(exclude=["photo"])
    sign.save()
    record(action=Action.COLLECTION, event="deployment.signage_add", actor=actor, target=sign,
           deployment_id=deployment.pk, changes={"position": position_description, "size": size})
    return sign


@transaction.atomic
def signage_record_removed(*, actor, sign: SignageRecord, removed_at) -> SignageRecord:
    require(actor, sign.deployment, CHANGE, message=NOT_ALLOWED)
    errors: dict[str, str] = {}
    _dates_check(errors, removed_at=(removed_at, "The time the sign was removed"))
    if errors:
        raise ValidationError(errors)
    sign = SignageRecord.objects.select_for_update().get(pk=sign.pk)
    sign.removed_at = removed_at
    sign.full_clean(exclude=["photo"])
    sign.save()
    record(action=Action.ALTERATION, event="deployment.signage_removed", actor=actor, target=sign,
           deployment_id=sign.deployment_id, changes={"removed_at": removed_at.isoformat()})
    return sign


@transaction.atomic
def leaflet_record_add(*, actor, deployment: Deployment, count: int, window_start, window_end,
                       where: str) -> LeafletRecord:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    if deployment.status in LEAFLETS_CLOSED:
        raise ValidationError(f"The deployment is {deployment.get_status_display().lower()}: its leaflet record is "
                              "closed.")
    errors: dict[str, str] = {}
    _dates_check(errors, window_start=(window_start, "The start of the leafleting"),
                 window_end=(window_end, "The end of the leafleting"))
    if errors:
        raise ValidationError(errors)
    leaflet = LeafletRecord(deployment=deployment, count=count, window_start=window_start, window_end=window_end,
                            where=where, distributed_by=actor)
    leaflet.full_clean()
    leaflet.save()
    record(action=Action.COLLECTION, event="deployment.leaflet_add", actor=actor, target=leaflet,
           deployment_id=deployment.pk, changes={"count": count, "where": where})
    return leaflet


@transaction.atomic
def operator_assign(*, actor, deployment: Deployment, operator) -> None:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    if deployment.status in FINISHED:
        raise ValidationError(f"The deployment is {deployment.get_status_display().lower()}: no operator can be "
                              "assigned to it now.")
    if not user_has_role(operator, Role.OPERATOR):
        raise ValidationError({"operator": f"{operator.get_username()} does not hold the operator role."})
    deployment.operators.add(operator)
    for perm in OPERATOR_PERMS:
        assign_perm(perm, operator, deployment)
    record(action=Action.ALTERATION, event="deployment.operator_assign", actor=actor, target=deployment,
           deployment_id=deployment.pk, changes={"operator": operator.get_username()})


@transaction.atomic
def operator_unassign(*, actor, deployment: Deployment, operator) -> None:
    """Takes back what operator_assign gave: the alert console of this deployment, and sight of it unless they are
    also its authorising officer. Allowed in any state (taking access away is never too late)."""
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if not deployment.operators.filter(pk=operator.pk).exists():
        raise ValidationError({"operator": f"{operator.get_username()} is not an operator of this deployment."})
    keep_view = "authorise_deployment" in _held(operator, deployment, ["authorise_deployment"])
    removed = _held(operator, deployment, [p for p in OPERATOR_PERMS if not (keep_view and p == "view_deployment")])
    deployment.operators.remove(operator)
    for perm in removed:
        remove_perm(perm, operator, deployment)
    record(action=Action.ALTERATION, event="deployment.operator_unassign", actor=actor, target=deployment,
           deployment_id=deployment.pk, changes={"operator": operator.get_username(), "permissions": removed})


def _already_reviewed(deployment: Deployment) -> Conflict:
    review = PostDeploymentReview.objects.select_related("reviewed_by").filter(deployment=deployment).first()
    by = f" by {review.reviewed_by.get_full_name() or review.reviewed_by.get_username()}" if review else ""
    when = f" on {localtime(review.reviewed_at):%d %B %Y}" if review else ""
    return Conflict(f"This deployment has already been reviewed{by}{when}; a deployment is reviewed once, and its "
                    "review cannot be replaced.", code="already_reviewed")


@transaction.atomic
def deployment_review(*, actor, deployment: Deployment, what_happened: str, lessons: str = "",
                      issues_raised: str = "") -> PostDeploymentReview:
    require(actor, deployment, CHANGE, message=NOT_ALLOWED)
    deployment = _lock(deployment)
    if deployment.status == S.REVIEWED:  # checked under the row lock: a second review waits for the first
        raise _already_reviewed(deployment)
    if not what_happened.strip():
        raise ValidationError({"what_happened": "Describe what happened during the deployment."})
    review = PostDeploymentReview.objects.create(
        deployment=deployment, what_happened=what_happened.strip(), lessons=lessons.strip(),
        issues_raised=issues_raised.strip(), reviewed_by=actor, reviewed_at=clock.now(),
    )
    _transition(deployment, S.REVIEWED, actor=actor, event="deployment.review")
    return review
