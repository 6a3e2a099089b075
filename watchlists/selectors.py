"""Reads for watchlists, always scoped to what the person may see (role permission and object permission)."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from lfr_governance.permissions import get_for_user_or_404, has_role_perm, restrict

from .choices import ImageState
from .models import ReferenceImage, Watchlist, WatchlistEntry, WatchlistVersion


# One answer for "does not exist" and "not yours", so existence does not leak.
NOT_FOUND = "Not found: it does not exist or you do not have access to it."


def watchlists_visible(user) -> QuerySet:
    if not has_role_perm(user, "watchlists.view_watchlist"):
        return Watchlist.objects.none()
    return restrict(Watchlist.objects.select_related("team", "created_by"), user, "watchlists.view_watchlist")


def watchlist_get(user, pk: int, perm: str = "watchlists.view_watchlist") -> Watchlist:
    """404 alike for a watchlist that does not exist and one the person may not see."""
    if not has_role_perm(user, "watchlists.view_watchlist") or not has_role_perm(user, perm):
        raise Http404(NOT_FOUND)
    try:
        return get_for_user_or_404(Watchlist.objects.select_related("team"), user, perm, pk=pk)
    except Http404:
        raise Http404(NOT_FOUND)


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
