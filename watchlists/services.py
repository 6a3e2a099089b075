"""Writes for watchlists: build, review, freeze, destroy. Each one audits in the same transaction."""

from __future__ import annotations

from datetime import date

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from lfr_governance import clock
from lfr_governance.accounts.choices import Role
from lfr_governance.accounts.models import Team
from lfr_governance.accounts.roles import user_has_role
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.dates import date_range_problem
from lfr_governance.files import atomic_with_files, delete_on_commit
from lfr_governance.given import NOT_GIVEN, NotGiven, given
from lfr_governance.images import image_check
from lfr_governance.permissions import has_role_perm
from lfr_governance.registry import registry

from .choices import ASSESS_TASK, ImageState, ReviewStatus, VersionStatus, category_needs_offence
from .models import (
    ReferenceImage,
    Watchlist,
    WatchlistEntry,
    WatchlistManifest,
    WatchlistUserObjectPermission,
    WatchlistVersion,
)
from .selectors import (
    ENTRY_FIELDS,
    entry_values,
    freeze_problems,
    may_build,
    may_review,
    version_destroy_blockers,
    version_digest,
    watchlist_draft,
)

NOT_ALLOWED = "You are not allowed to do this on this watchlist."
TEAM_PERMS = ("view_watchlist", "build_watchlist", "view_watchlist_images")
REVIEWER_PERMS = ("view_watchlist", "review_watchlist", "view_watchlist_images")


def _require_build(actor, watchlist: Watchlist) -> None:
    if not may_build(actor, watchlist):
        raise PermissionDenied(NOT_ALLOWED)


def _lock_watchlist(watchlist: Watchlist) -> Watchlist:
    return Watchlist.objects.select_for_update().get(pk=watchlist.pk)


# --- Watchlists ------------------------------------------------------------------------------


@transaction.atomic
def watchlist_create(
    *, actor, operation_name: str, objective: str, intelligence_case_ref: str, team: Team | None = None
) -> Watchlist:
    if not has_role_perm(actor, "watchlists.add_watchlist"):
        raise PermissionDenied("Only an intelligence officer can create a watchlist.")
    team = team or actor.profile.team
    if team is None:
        raise ValidationError({"team": "You belong to no team; ask an administrator to set your team first."})
    watchlist = Watchlist(
        operation_name=operation_name, objective=objective, intelligence_case_ref=intelligence_case_ref,
        team=team, created_by=actor,
    )
    watchlist.full_clean()
    watchlist.save()
    WatchlistVersion.objects.create(watchlist=watchlist, number=1)
    for perm in TEAM_PERMS:
        assign_perm(perm, team.group, watchlist)
    record(action=Action.COLLECTION, event="watchlist.create", actor=actor, target=watchlist,
           changes={"operation_name": operation_name, "intelligence_case_ref": intelligence_case_ref,
                    "team": team.name})
    return watchlist


@transaction.atomic
def watchlist_reviewer_assign(*, actor, watchlist: Watchlist, reviewer) -> None:
    _require_build(actor, watchlist)
    if not user_has_role(reviewer, Role.REVIEWER):
        raise ValidationError({"reviewer": f"{reviewer.get_username()} does not hold the reviewer role."})
    for perm in REVIEWER_PERMS:
        assign_perm(perm, reviewer, watchlist)
    record(action=Action.ALTERATION, event="watchlist.reviewer_assign", actor=actor, target=watchlist,
           changes={"reviewer": reviewer.get_username()})


@transaction.atomic
def watchlist_reviewer_unassign(*, actor, watchlist: Watchlist, reviewer) -> None:
    """Takes back what watchlist_reviewer_assign gave: the review permission, and sight of the watchlist and its
    images unless another grant still needs them (the authorising officer of an application that uses it: the
    registry; the owning team's access is its group's, never touched here). Refused for a person who is not an
    assigned reviewer."""
    _require_build(actor, watchlist)
    watchlist = _lock_watchlist(watchlist)
    if not WatchlistUserObjectPermission.objects.filter(user=reviewer, content_object=watchlist,
                                                        permission__codename="review_watchlist").exists():
        raise ValidationError({"reviewer": f"{reviewer.get_username()} is not a reviewer of this watchlist."})
    kept = registry.watchlist_access_kept(reviewer, watchlist)
    removed = [perm for perm in REVIEWER_PERMS if perm == "review_watchlist" or not kept]
    for perm in removed:
        remove_perm(perm, reviewer, watchlist)
    record(action=Action.ALTERATION, event="watchlist.reviewer_unassign", actor=actor, target=watchlist,
           changes={"reviewer": reviewer.get_username(), "permissions": removed})


def _draft_for_change(*, actor, watchlist: Watchlist) -> WatchlistVersion:
    """The draft version to change; after a freeze, a new draft copied from the latest frozen version.

    The copy writes image files: call it inside `atomic_with_files`, so a change refused later removes them."""
    _lock_watchlist(watchlist)
    draft = watchlist_draft(watchlist)
    if draft is not None:
        return draft
    latest = watchlist.versions.order_by("-number").first()
    draft = WatchlistVersion.objects.create(watchlist=watchlist, number=latest.number + 1)
    if latest.status == VersionStatus.FROZEN:
        for entry in latest.entries.prefetch_related("images"):
            images = list(entry.images.all())
            entry.pk, entry.version = None, draft
            entry.save()
            for image in images:
                with image.image.open("rb") as fh:
                    data = fh.read()
                image.pk, image.entry = None, entry
                image.image = ContentFile(data, name="copy.img")
                image.save()
    record(action=Action.COLLECTION, event="watchlist.version_create", actor=actor, target=draft,
           changes={"watchlist": watchlist.pk, "number": draft.number, "copied_from": latest.number})
    return draft


# --- Entries ---------------------------------------------------------------------------------


def _draft_copy(draft: WatchlistVersion, entry: WatchlistEntry) -> WatchlistEntry:
    """The entry itself if it is on the draft; else its copy there (a frozen version never changes)."""
    if entry.version_id == draft.pk:
        return entry
    copy = draft.entries.filter(subject_ref=entry.subject_ref).first()
    if copy is None:
        raise ValidationError(
            f"{entry.subject_ref} is no longer on this watchlist's current draft (version {draft.number}); "
            "add it again as a new entry if it is still needed."
        )
    return copy


def _entry_clean(entry: WatchlistEntry) -> None:
    errors: dict[str, str] = {}
    if entry.category not in settings.LFR_INCLUSION_CATEGORIES:
        errors["category"] = "Choose one of the listed inclusion categories."
    elif category_needs_offence(entry.category):
        if entry.offence not in settings.LFR_SERIOUS_OFFENCES:
            errors["offence"] = "This category needs the offence the subject is suspected of: choose one."
    elif entry.offence:
        errors["offence"] = "Only the 'serious offence' category takes an offence: leave it empty."
    if entry.subject_under_18 and not entry.under_18_rationale.strip():
        errors["under_18_rationale"] = "The subject is under 18: record why including a child is necessary."
    if entry.image_capture_date and entry.image_capture_date > date.today():
        errors["image_capture_date"] = "The capture date cannot be in the future."
    elif problem := date_range_problem(entry.image_capture_date, noun="The image capture date"):
        errors["image_capture_date"] = problem
    if errors:
        raise ValidationError(errors)
    entry.full_clean(exclude=["version", "author"])


@atomic_with_files
def entry_create(
    *, actor, watchlist: Watchlist, subject_ref: str, category: str, offence: str = "", legal_basis: str,
    image_source: str, image_capture_date: date, intelligence_ref: str, justification: str,
    subject_under_18: bool = False, under_18_rationale: str = "",
) -> WatchlistEntry:
    fields = given(locals(), ENTRY_FIELDS)
    _require_build(actor, watchlist)
    draft = _draft_for_change(actor=actor, watchlist=watchlist)
    if draft.entries.count() >= settings.LFR_WATCHLIST_MAX_ENTRIES:
        raise ValidationError(
            f"This watchlist already holds the most entries allowed ({settings.LFR_WATCHLIST_MAX_ENTRIES}). "
            "A watchlist must stay bespoke to its operation."
        )
    if draft.entries.filter(subject_ref=subject_ref).exists():
        raise ValidationError({"subject_ref": "This subject is already on this watchlist."})
    entry = WatchlistEntry(version=draft, author=actor, **fields)
    _entry_clean(entry)
    entry.save()
    record(action=Action.COLLECTION, event="watchlist.entry_create", actor=actor, target=entry,
           subject_ref=entry.subject_ref, changes=entry_values(entry))
    return entry


@atomic_with_files
def entry_update(
    *, actor, entry: WatchlistEntry, subject_ref: str | NotGiven = NOT_GIVEN, category: str | NotGiven = NOT_GIVEN,
    offence: str | NotGiven = NOT_GIVEN, legal_basis: str | NotGiven = NOT_GIVEN,
    image_source: str | NotGiven = NOT_GIVEN, image_capture_date: date | NotGiven = NOT_GIVEN,
    intelligence_ref: str | NotGiven = NOT_GIVEN, justification: str | NotGiven = NOT_GIVEN,
    subject_under_18: bool | NotGiven = NOT_GIVEN, under_18_rationale: str | NotGiven = NOT_GIVEN,
) -> WatchlistEntry:
    """Changes the fields given, on the draft (a frozen version's entry is changed in a new draft's copy)."""
    fields = given(locals(), ENTRY_FIELDS)
    watchlist = entry.version.watchlist
    _require_build(actor, watchlist)
    draft = _draft_for_change(actor=actor, watchlist=watchlist)
    entry = _draft_copy(draft, entry)
    entry = WatchlistEntry.objects.select_for_update().get(pk=entry.pk)
    new_ref = fields.get("subject_ref", entry.subject_ref)
    if new_ref != entry.subject_ref and draft.entries.filter(subject_ref=new_ref).exclude(pk=entry.pk).exists():
        raise ValidationError({"subject_ref": "Another entry on this watchlist already has this subject reference."})
    old = entry_values(entry)
    for name, value in fields.items():
        setattr(entry, name, value)
    _entry_clean(entry)
    new = entry_values(entry)
    if new == old:
        return entry
    entry.review_status, entry.reviewed_by, entry.reviewed_at, entry.review_reason = ReviewStatus.PENDING, None, None, ""
    entry.save()
    record(action=Action.ALTERATION, event="watchlist.entry_update", actor=actor, target=entry,
           subject_ref=entry.subject_ref,
           changes={"old": {k: v for k, v in old.items() if new[k] != v},
                    "new": {k: v for k, v in new.items() if old[k] != v}})
    return entry


@atomic_with_files
def entry_remove(*, actor, entry: WatchlistEntry) -> None:
    watchlist = entry.version.watchlist
    _require_build(actor, watchlist)
    draft = _draft_for_change(actor=actor, watchlist=watchlist)
    entry = _draft_copy(draft, entry)
    subject_ref, pk = entry.subject_ref, entry.pk
    files = [image.image.name for image in entry.images.all()]
    entry.delete()
    delete_on_commit(files)
    record(action=Action.ERASURE, event="watchlist.entry_remove", actor=actor, target_type="watchlists.watchlistentry",
           target_id=pk, subject_ref=subject_ref)


# --- Images ----------------------------------------------------------------------------------


@atomic_with_files
def reference_image_add(*, actor, entry: WatchlistEntry, data: bytes, filename: str = "image") -> ReferenceImage:
    """Stores a checked image and queues its quality assessment and template."""
    watchlist = entry.version.watchlist
    _require_build(actor, watchlist)
    checked = image_check(data, filename=filename)
    draft = _draft_for_change(actor=actor, watchlist=watchlist)
    entry = _draft_copy(draft, entry)
    image = _reference_image_store(actor=actor, entry=entry, checked=checked)
    # By the task's name (watchlists/tasks.py imports this module, not the reverse).
    transaction.on_commit(lambda: current_app.send_task(ASSESS_TASK, args=[image.pk]))
    return image


def _reference_image_store(*, actor, entry: WatchlistEntry, checked) -> ReferenceImage:
    image = ReferenceImage(
        entry=entry, content_type=checked.content_type, sha256=checked.sha256, width=checked.width,
        height=checked.height, uploaded_by=actor,
    )
    image.image = ContentFile(checked.data, name="upload.img")
    image.save()
    _entry_back_to_review(entry)
    record(action=Action.COLLECTION, event="watchlist.image_add", actor=actor, target=image,
           subject_ref=entry.subject_ref, changes={"sha256": checked.sha256, "entry": entry.pk})
    return image


def _entry_back_to_review(entry: WatchlistEntry) -> None:
    if entry.review_status != ReviewStatus.PENDING:
        WatchlistEntry.objects.filter(pk=entry.pk).update(
            review_status=ReviewStatus.PENDING, reviewed_by=None, reviewed_at=None, review_reason=""
        )


def reference_image_assess(*, image_id: int) -> ReferenceImage | None:
    """Runs the quality gate and makes the template (Celery task body). The engine runs outside any transaction."""
    # Here, not at the top: the web process never loads ONNX Runtime and OpenCV (only the worker runs this).
    from lfr_governance.faces import decode_image, get_engine

    image = ReferenceImage.objects.filter(pk=image_id, state=ImageState.QUEUED).first()
    if image is None:
        return None
    engine = get_engine()
    with image.image.open("rb") as fh:
        pixels = decode_image(fh.read())
    quality, embedding = engine.enrolment_template(pixels)
    template = embedding.astype("float32").tobytes() if embedding is not None else None
    measures = {
        key: (round(float(value), 3) if value is not None else None)
        for key, value in (
            ("detector_score", quality.detector_score), ("face_size", quality.face_size),
            ("inter_eye_distance", quality.inter_eye_distance), ("sharpness", quality.sharpness),
            ("yaw_ratio", quality.yaw_ratio), ("roll_degrees", quality.roll_degrees),
        )
    }
    measures["face_count"] = quality.face_count
    with transaction.atomic():
        image = ReferenceImage.objects.select_for_update().get(pk=image_id)
        if image.state != ImageState.QUEUED:
            return image
        image.state = ImageState.ACCEPTED if quality.accepted else ImageState.REFUSED
        image.refusal_reason = "" if quality.accepted else str(quality.reason)
        image.refusal_message = "" if quality.accepted else quality.message
        image.quality = measures
        image.template = template
        image.pack_id = engine.pack.id
        image.save()
        record(action=Action.COLLECTION if quality.accepted else Action.ALTERATION,
               event="watchlist.image_assess", actor_label="enrolment worker", target=image,
               subject_ref=image.entry.subject_ref,
               changes={"state": image.state, "reason": image.refusal_reason, "pack": engine.pack.id})
    return image


# --- Review ----------------------------------------------------------------------------------


@transaction.atomic
def entry_review(*, actor, entry: WatchlistEntry, approve: bool, reason: str = "") -> WatchlistEntry:
    watchlist = entry.version.watchlist
    if not may_review(actor, watchlist):
        raise PermissionDenied(NOT_ALLOWED)
    entry = WatchlistEntry.objects.select_for_update().select_related("version").get(pk=entry.pk)
    if entry.author_id == actor.pk:
        raise PermissionDenied("You added this entry, so someone else must review it.")
    if not entry.version.is_draft:
        raise ValidationError("This version is frozen: its entries can no longer be reviewed.")
    if not approve and not reason.strip():
        raise ValidationError({"reason": "Say why the entry is returned, so its author can put it right."})
    entry.review_status = ReviewStatus.APPROVED if approve else ReviewStatus.RETURNED
    entry.reviewed_by, entry.reviewed_at, entry.review_reason = actor, clock.now(), reason.strip()
    entry.save()
    record(action=Action.ALTERATION, event="watchlist.entry_review", actor=actor, target=entry,
           subject_ref=entry.subject_ref, changes={"decision": entry.review_status, "reason": entry.review_reason})
    return entry


# --- Freeze ----------------------------------------------------------------------------------


@transaction.atomic
def watchlist_freeze(*, actor, watchlist: Watchlist) -> WatchlistVersion:
    _require_build(actor, watchlist)
    _lock_watchlist(watchlist)
    draft = watchlist_draft(watchlist)
    if draft is None:
        raise ValidationError("There is no draft to freeze: the latest version is already frozen.")
    problems = freeze_problems(draft)
    if problems:
        raise ValidationError(problems)
    draft.digest = version_digest(draft)
    draft.size = draft.entries.count()
    draft.pack_id = draft.entries.first().images.filter(state=ImageState.ACCEPTED).first().pack_id
    draft.status, draft.frozen_at, draft.frozen_by = VersionStatus.FROZEN, clock.now(), actor
    draft.save()
    record(action=Action.ALTERATION, event="watchlist.freeze", actor=actor, target=draft,
           changes={"digest": draft.digest, "size": draft.size, "pack": draft.pack_id, "number": draft.number})
    return draft


# --- Destroy ---------------------------------------------------------------------------------


def _version_in_use_message(version: WatchlistVersion, in_use: list[str]) -> str:
    return (f"Version {version.number} cannot be destroyed while {', '.join(in_use)} "
            f"{'uses' if len(in_use) == 1 else 'use'} it: its frames would go unmatched. End or cancel "
            f"{'that deployment' if len(in_use) == 1 else 'those deployments'} first; the retention job destroys "
            "the version once its deployments are over.")


@transaction.atomic
def watchlist_version_destroy(*, version: WatchlistVersion, reason: str, actor=None, actor_label: str = "") -> WatchlistManifest:
    """Deletes a version's images and templates (files and rows) and keeps a manifest without either.

    Called by the retention job after a deployment ends, or by an administrator. Entry records
    (references and justifications, no biometrics) stay, since alerts point at them. Refused while a
    deployment that uses the version is scheduled or live (the deployments app answers, through the registry).
    """
    if actor is not None and not has_role_perm(actor, "watchlists.destroy_watchlistversion"):
        raise PermissionDenied("Only an administrator or the retention job can destroy a watchlist version.")
    # The lock also serialises this with scheduling a deployment of the version (deployments locks it too).
    version = WatchlistVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == VersionStatus.DESTROYED:
        return version.manifest
    in_use = version_destroy_blockers(version.pk)
    if in_use:
        raise ValidationError(_version_in_use_message(version, in_use))
    now = clock.now()
    entries = list(version.entries.prefetch_related("images").order_by("subject_ref"))
    manifest = WatchlistManifest.objects.create(
        version=version, digest=version.digest, reason=reason, destroyed_at=now,
        destroyed_by_label=actor.get_username() if actor else (actor_label or "system"),
        entries=[
            {"subject_ref": e.subject_ref, "category": e.category, "offence": e.offence,
             "image_capture_date": str(e.image_capture_date), "added_at": e.created_at.isoformat(),
             "images_destroyed": len(e.images.all())}
            for e in entries
        ],
    )
    files = []
    for entry in entries:
        for image in entry.images.all():
            files.append(image.image.name)
            record(action=Action.ERASURE, event="watchlist.image_destroy", actor=actor, actor_label=actor_label,
                   target=image, subject_ref=entry.subject_ref, changes={"reason": reason})
    ReferenceImage.objects.filter(entry__version=version).delete()
    if version.status == VersionStatus.DRAFT:
        version.digest = version.digest or "destroyed-draft"
        version.frozen_at = version.frozen_at or now
    version.status, version.destroyed_at = VersionStatus.DESTROYED, now
    version.save()
    delete_on_commit(files)
    record(action=Action.ERASURE, event="watchlist.version_destroy", actor=actor, actor_label=actor_label,
           target=version, changes={"reason": reason, "images": len(files), "manifest": manifest.pk})
    return manifest
