from django.db import models


class DeploymentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for authorisation"
    AUTHORISED = "authorised", "Authorised"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"
    REVIEWED = "reviewed", "Reviewed"
    CANCELLED = "cancelled", "Cancelled"


S = DeploymentStatus
# The one table of allowed transitions (GOVERNANCE.md): each service checks it before acting.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SUBMITTED, S.CANCELLED},
    S.SUBMITTED: {S.AUTHORISED, S.REJECTED, S.DRAFT, S.CANCELLED},
    S.AUTHORISED: {S.SCHEDULED, S.DRAFT, S.CANCELLED},
    S.REJECTED: {S.DRAFT, S.CANCELLED},
    S.SCHEDULED: {S.LIVE, S.ENDED, S.DRAFT, S.CANCELLED},
    S.LIVE: {S.ENDED, S.CANCELLED},
    S.ENDED: {S.REVIEWED},
    S.REVIEWED: set(),
    S.CANCELLED: set(),
}
# Changing what an authorisation binds returns the deployment to draft from these states.
REAUTHORISE_FROM = {S.SUBMITTED, S.AUTHORISED, S.SCHEDULED}
EDITABLE = {S.DRAFT, S.REJECTED}
# The application can still be changed (from REAUTHORISE_FROM, a change to what was authorised returns it to draft).
CHANGEABLE = frozenset(EDITABLE | REAUTHORISE_FROM)
# Over: nothing more will be processed; the watchlist's retention clock runs from the end.
FINISHED = frozenset({S.ENDED, S.REVIEWED, S.CANCELLED})
# Whose record is public: authorised ones from scheduling on (not drafts, rejections or cancellations).
PUBLISHED = frozenset({S.SCHEDULED, S.LIVE, S.ENDED, S.REVIEWED})
# The page offers no more leaflet records once the record is closed (reviewed or cancelled).
LEAFLETS_CLOSED = frozenset({S.REVIEWED, S.CANCELLED})
# The applicant may take an application back to draft from these (later, a change of what was authorised does it).
WITHDRAWABLE = frozenset({S.SUBMITTED, S.REJECTED})


def transition_allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, set())


class AuthorisationDecision(models.TextChoices):
    AUTHORISED = "authorised", "Authorised"
    REJECTED = "rejected", "Rejected"
