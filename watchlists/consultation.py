"""Viewing a watchlist image is a consultation (DPA 2018 s.62): audited with the viewer's justification.

The justification is asked once per session per watchlist; every image view writes its own row.
"""

from django.db import transaction

from lfr_governance.audit.justification import justification_clean
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record

from .models import ReferenceImage, Watchlist


def _session_key(watchlist_id: int) -> str:
    return f"consultation_justification:{watchlist_id}"


def consultation_justification(session, watchlist: Watchlist) -> str | None:
    return session.get(_session_key(watchlist.pk))


def consultation_justification_set(session, watchlist: Watchlist, justification: str) -> None:
    """Remembers the reason for this session; ValidationError when it is too short."""
    session[_session_key(watchlist.pk)] = justification_clean(
        justification, ask="Say why you need to see these images", example="the review task")


@transaction.atomic
def image_consult(*, actor, image: ReferenceImage, justification: str) -> bytes:
    record(action=Action.CONSULTATION, event="watchlist.image_view", actor=actor, target=image,
           subject_ref=image.entry.subject_ref, justification=justification)
    with image.image.open("rb") as fh:
        return fh.read()
