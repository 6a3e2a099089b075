"""The watchlist records about one subject reference, for a data subject request (registered from ready())."""

from __future__ import annotations

from lfr_governance.registry import SubjectLookup

from .models import WatchlistEntry


def _subject_entries(subject_ref: str) -> list[WatchlistEntry]:
    return list(WatchlistEntry.objects.filter(subject_ref=subject_ref)
                .select_related("version__watchlist", "author").order_by("version__watchlist_id", "version__number"))


SUBJECT_ENTRIES = SubjectLookup(key="entries", label="Watchlist entries", order=10, records=_subject_entries,
                                template="watchlists/_subject_entries.html")
