"""Reads for watchlists, always scoped to what the person may see (role permission and object permission),
and what a person may do with a watchlist or an entry now."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from lfr_governance.permissions import NOT_FOUND, allowed, get_for_user_or_404, scope
from lfr_governance.registry import registry

from .choices import ImageState, ReviewStatus, VersionStatus
from .models import ReferenceImage, Watchlist, WatchlistEntry, WatchlistVersion

VIEW = "watchlists.view_watchlist"
BUILD = "watchlists.build_watchlist"  # the owning team: add and edit entries, assign reviewers, freeze
BUILD_ROLE = "watchlists.change_watchlist"  # the role permission that goes with it
REVIEW = "watchlists.review_watchlist"  # the assigned reviewers
IMAGES = "watchlists.view_watchlist_images"
# What an entry records (and what its digest covers).
ENTRY_FIELDS = (
    "subject_ref", "category", "offence", "legal_basis", "image_source", "image_capture_date",
    "intelligence_ref", "justification", "subject_under_18", "under_18_rationale",
)


def version_destroy_blockers(version_id: int) -> list[str]:
    """What must finish before this version may be destroyed: the deployments using it now, as the deployments app
    answers through the registry (e.g. ["LFR-00005 (live)"]); empty when nothing blocks it."""
    return registry.version_in_use(version_id)


def watchlists_visible(user) -> QuerySet:
    return scope(Watchlist.objects.select_related("team", "created_by"), user, VIEW)


def watchlist_get(user, pk: int, perm: str = VIEW) -> Watchlist:
    """404 alike for a watchlist that does not exist and one the person may not `perm` (nor see)."""
    return get_for_user_or_404(Watchlist.objects.select_related("team"), user, perm, role=(VIEW, perm),
                               message=NOT_FOUND, pk=pk)


def watchlist_draft(watchlist: Watchlist) -> WatchlistVersion | None:
    return watchlist.versions.filter(status=VersionStatus.DRAFT).first()


def watchlist_versions(watchlist: Watchlist) -> QuerySet:
    return watchlist.versions.annotate(entry_count=Count("entries")).select_related("frozen_by")


def version_entries(version: WatchlistVersion) -> QuerySet:
    return version.entries.select_related("author", "reviewed_by").prefetch_related(
        Prefetch("images", queryset=ReferenceImage.objects.defer("template"))
    )


def entry_get(user, pk: int, perm: str = "watchlists.view_watchlist") -> WatchlistEntry:
    entry = WatchlistEntry.objects.select_related("version__watchlist").filter(pk=pk).first()
    if entry is None:
        raise Http404(NOT_FOUND)
    watchlist_get(user, entry.version.watchlist_id, perm)
    return entry


def image_get(user, pk: int) -> ReferenceImage:
    image = ReferenceImage.objects.defer("template").select_related("entry__version__watchlist").filter(pk=pk).first()
    if image is None:
        raise Http404(NOT_FOUND)
    watchlist_get(user, image.entry.version.watchlist_id, "watchlists.view_watchlist_images")
    return image


def image_states(version: WatchlistVersion) -> list[dict]:
    return [
        {"id": img.pk, "entry": img.entry_id, "state": img.state, "state_label": img.get_state_display(),
         "reason": img.refusal_reason, "message": img.refusal_message}
        for img in ReferenceImage.objects.filter(entry__version=version).defer("template").order_by("id")
    ]


def version_counts(version: WatchlistVersion) -> dict:
    entries = version.entries.aggregate(
        total=Count("id"), approved=Count("id", filter=Q(review_status="approved")),
    )
    images = ReferenceImage.objects.filter(entry__version=version).aggregate(
        queued=Count("id", filter=Q(state=ImageState.QUEUED)), refused=Count("id", filter=Q(state=ImageState.REFUSED)),
        accepted=Count("id", filter=Q(state=ImageState.ACCEPTED)),
    )
    return {**entries, **images}


def entry_accepted_image_count(entry: WatchlistEntry) -> int:
    """How many accepted images the entry has: the live gallery matches it on the mean of their templates."""
    if "images" in getattr(entry, "_prefetched_objects_cache", {}):  # the watchlist page's entries: no query
        return sum(1 for image in entry.images.all() if image.state == ImageState.ACCEPTED)
    return entry.images.filter(state=ImageState.ACCEPTED).count()


def entry_values(entry: WatchlistEntry) -> dict[str, Any]:
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    values["image_capture_date"] = str(values["image_capture_date"])
    return values


def version_digest(version: WatchlistVersion) -> str:
    """SHA-256 over every entry's fields and every accepted image's bytes hash and template. The gallery row the
    pipeline matches an entry on (the mean of its accepted templates) is derived from these alone, so the digest
    covers it."""
    entries = []
    for entry in version.entries.order_by("subject_ref").prefetch_related("images"):
        images = sorted(
            (
                {"sha256": img.sha256, "pack": img.pack_id,
                 "template_sha256": hashlib.sha256(bytes(img.template)).hexdigest()}
                for img in entry.images.all() if img.state == ImageState.ACCEPTED
            ),
            key=lambda i: (i["sha256"], i["template_sha256"]),
        )
        entries.append({**entry_values(entry), "images": images})
    canonical = json.dumps({"entries": entries}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def freeze_problems(version: WatchlistVersion) -> list[str]:
    problems = []
    entries = list(version.entries.prefetch_related("images"))
    if not entries:
        problems.append("The watchlist has no entries.")
    packs = set()
    for entry in entries:
        states = [img.state for img in entry.images.all()]
        if entry.review_status != ReviewStatus.APPROVED:
            problems.append(f"{entry.subject_ref}: not approved by a reviewer ({entry.get_review_status_display()}).")
        if ImageState.QUEUED in states:
            problems.append(f"{entry.subject_ref}: an image is still being checked.")
        if ImageState.ACCEPTED not in states:
            problems.append(f"{entry.subject_ref}: no accepted image.")
        packs |= {img.pack_id for img in entry.images.all() if img.state == ImageState.ACCEPTED}
    if len(packs) > 1:
        problems.append(f"Templates come from more than one model pack ({', '.join(sorted(packs))}): re-check images.")
    if len(entries) > settings.LFR_WATCHLIST_MAX_ENTRIES:
        problems.append(f"More entries than the cap of {settings.LFR_WATCHLIST_MAX_ENTRIES}.")
    return problems


# --- What a person may do with a watchlist and its entries now ------------------------------------


def may_build(user, watchlist: Watchlist) -> bool:
    """The owning team's permission to add, edit and remove entries, assign reviewers and freeze."""
    return allowed(user, watchlist, BUILD, role=BUILD_ROLE)


def may_review(user, watchlist: Watchlist) -> bool:
    return allowed(user, watchlist, REVIEW)


def version_entries_editable(version: WatchlistVersion | None) -> bool:
    # A destroyed version's entries have nothing to copy into a new draft, so they are not edited from its page.
    return version is not None and version.status != VersionStatus.DESTROYED


@dataclass(frozen=True)
class WatchlistActions:
    """What this person may do with this watchlist (and the version shown) now. The pages and templates read
    it; the services re-check the same rules (may_build, may_review, the version's state) before acting."""

    may_build: bool  # add entries (one at a time or in bulk) and assign reviewers
    may_edit_entries: bool
    may_review: bool
    may_freeze: bool
    may_view_images: bool


def watchlist_actions(user, watchlist: Watchlist, version: WatchlistVersion | None) -> WatchlistActions:
    build, draft = may_build(user, watchlist), version is not None and version.is_draft
    return WatchlistActions(
        may_build=build,
        may_edit_entries=build and version_entries_editable(version),
        may_review=may_review(user, watchlist) and draft,
        may_freeze=build and draft,
        may_view_images=allowed(user, watchlist, IMAGES),
    )


@dataclass(frozen=True)
class EntryActions:
    may_edit: bool  # change it, or add an image (on a frozen version: in a new draft)
    may_review: bool  # approve or return it: a reviewer who is not its author, while its version is a draft


def entry_actions(user, entry: WatchlistEntry, on: WatchlistActions | None = None) -> EntryActions:
    """What this person may do with this entry now; `on`: the actions on its watchlist and version, when known."""
    on = on or watchlist_actions(user, entry.version.watchlist, entry.version)
    return EntryActions(may_edit=on.may_edit_entries, may_review=on.may_review and entry.author_id != user.pk)
