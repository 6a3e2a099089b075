"""Legal holds on alerts: placed and released by the deployment's own officers, each audited.

What a hold keeps, and who may hold it, the matching app registers (lfr_governance/registry.py).
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from lfr_governance import clock
from lfr_governance.audit.justification import justification_clean
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.dates import date_range_problem
from lfr_governance.permissions import has_role_perm, not_found
from lfr_governance.registry import registry

from .models import LegalHold


def _may_hold(actor, target) -> bool:
    """The role permission, and the hold target's own rule (alerts: officers who can see the deployment)."""
    return has_role_perm(actor, "retention.add_legalhold") and registry.hold_target().may_hold(actor, target)


def hold_target_get(user, target_id: int):
    """The record to hold (an alert) if this person may hold it; 404 alike for a missing one and one they may not,
    so that another team's alerts do not show they exist."""
    target = registry.hold_target()
    found = target.find(target_id)
    if found is None or not _may_hold(user, found):
        raise not_found(target.label)
    return found


@transaction.atomic
def legal_hold_place(*, actor, alert, reason: str, owner, review_date: date) -> LegalHold:
    if not _may_hold(actor, alert):
        raise PermissionDenied("You cannot place a legal hold on this alert.")
    errors = {}
    try:
        justification_clean(reason, ask="Give the reason for the hold", example="the case it is evidence in")
    except ValidationError as exc:
        errors["reason"] = exc.message
    if review_date <= clock.localdate():
        errors["review_date"] = "The review date must be in the future."
    elif problem := date_range_problem(review_date, noun="The review date"):
        errors["review_date"] = problem
    if LegalHold.objects.filter(alert=alert, released_at__isnull=True).exists():
        errors["alert"] = "This alert is already under a legal hold."
    if errors:
        raise ValidationError(errors)
    target = registry.hold_target()
    hold = LegalHold.objects.create(
        alert=alert, alert_ref=str(alert.pk), deployment_id=target.deployment_id(alert), reason=reason.strip(), owner=owner,
        review_date=review_date, placed_by=actor, placed_at=clock.now(),
    )
    record(action=Action.ALTERATION, event="retention.hold_place", actor=actor, target=hold,
           deployment_id=hold.deployment_id, subject_ref=target.subject_ref(alert),
           changes={"alert": alert.pk, "owner": owner.get_username(), "review_date": review_date.isoformat(),
                    "reason": reason.strip()})
    return hold


@transaction.atomic
def legal_hold_release(*, actor, hold: LegalHold, reason: str) -> LegalHold:
    """Releasing makes the alert due at once if its period has run out."""
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.alert is None or not _may_hold(actor, hold.alert):
        raise PermissionDenied("You cannot release this legal hold.")
    if not hold.active:
        raise ValidationError("This hold has already been released.")
    if len(reason.strip()) < 5:
        raise ValidationError({"reason": "Say why the hold is released."})
    hold.released_at, hold.released_by, hold.release_reason = clock.now(), actor, reason.strip()
    hold.save()
    record(action=Action.ALTERATION, event="retention.hold_release", actor=actor, target=hold,
           deployment_id=hold.deployment_id, changes={"alert": hold.alert_ref, "reason": reason.strip()})
    return hold
