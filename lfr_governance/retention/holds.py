"""Legal holds on alerts: placed and released by the deployment's own officers, each audited."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from lfr_governance import clock
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.permissions import has_role_perm, restrict

from .models import LegalHold


def _may_hold(actor, alert) -> bool:
    from deployments.models import Deployment

    visible = restrict(Deployment.objects.filter(pk=alert.deployment_id), actor, "deployments.view_deployment")
    return has_role_perm(actor, "retention.add_legalhold") and visible.exists()


@transaction.atomic
def legal_hold_place(*, actor, alert, reason: str, owner, review_date: date) -> LegalHold:
    if not _may_hold(actor, alert):
        raise PermissionDenied("You cannot place a legal hold on this alert.")
    errors = {}
    if len(reason.strip()) < 10:
        errors["reason"] = "Give the reason for the hold (at least 10 characters), e.g. the case it is evidence in."
    if review_date <= clock.localdate():
        errors["review_date"] = "The review date must be in the future."
    if LegalHold.objects.filter(alert=alert, released_at__isnull=True).exists():
        errors["alert"] = "This alert is already under a legal hold."
    if errors:
        raise ValidationError(errors)
    hold = LegalHold.objects.create(
        alert=alert, alert_ref=str(alert.pk), deployment_id=alert.deployment_id, reason=reason.strip(), owner=owner,
        review_date=review_date, placed_by=actor, placed_at=clock.now(),
    )
    record(action=Action.ALTERATION, event="retention.hold_place", actor=actor, target=hold,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref,
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
