"""Viewing alerts is a consultation of personal data (DPA 2018 s.62): audited with the viewer's justification.

The justification is asked once per session per deployment; each alert shown and each image fetched
writes its own audit row.
"""

from __future__ import annotations

from django.db import transaction

from deployments.models import Deployment
from lfr_governance.audit.justification import justification_clean
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record

from .models import Alert


def _session_key(deployment_id: int) -> str:
    return f"alert_consultation_justification:{deployment_id}"


def consultation_justification(session, deployment: Deployment) -> str | None:
    return session.get(_session_key(deployment.pk))


def consultation_justification_set(session, deployment: Deployment, justification: str) -> None:
    """Remembers the reason for this session; ValidationError when it is too short."""
    session[_session_key(deployment.pk)] = justification_clean(
        justification, ask="Say why you are watching this deployment's alerts",
        example="'operator on duty for LFR-00012'")


@transaction.atomic
def alerts_consult(*, actor, alerts: list[Alert], justification: str) -> None:
    """One audit row per alert shown on the console."""
    for alert in alerts:
        record(action=Action.CONSULTATION, event="alert.view", actor=actor, target=alert,
               deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref, justification=justification)


@transaction.atomic
def alert_probe_consult(*, actor, alert: Alert, justification: str) -> bytes:
    record(action=Action.CONSULTATION, event="alert.probe_view", actor=actor, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref, justification=justification)
    with alert.probe_image.open("rb") as fh:
        return fh.read()


@transaction.atomic
def alert_reference_consult(*, actor, alert: Alert, justification: str) -> tuple[bytes, str] | None:
    """The watchlist image the probe matched, or None once the watchlist's images are destroyed."""
    image = alert.reference_image
    if image is None or not image.image:
        return None
    record(action=Action.CONSULTATION, event="alert.reference_view", actor=actor, target=image,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref, justification=justification,
           changes={"alert": alert.pk})
    with image.image.open("rb") as fh:
        return fh.read(), image.content_type


@transaction.atomic
def alert_sightings_consult(*, actor, alert: Alert, justification: str, sightings: list) -> None:
    """Viewing an alert's sighting history (when and where the person was seen) is a consultation of the alert:
    one audit row, as for each alert shown, naming how many sightings were shown."""
    record(action=Action.CONSULTATION, event="alert.sightings_view", actor=actor, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref, justification=justification,
           changes={"sightings_shown": len(sightings)})
