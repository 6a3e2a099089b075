"""Writes for matching: admitting what edge nodes send, and the operator's decisions on alerts.

The edge side never writes a frame anywhere but Redis (payload under a TTL, see frames.py); the only
database writes it makes are counts. Alert decisions lock the row, check the order of decisions,
and audit in the same transaction.
"""

from __future__ import annotations

import io
import logging
import math
import time
import warnings
from dataclasses import dataclass
from datetime import datetime

import kombu.exceptions
import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from PIL import Image

from lfr_governance import clock
from deployments.models import Deployment, DeploymentCounters, EdgeNode
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.dates import date_range_problem, date_range_text
from lfr_governance.files import delete_on_commit
from lfr_governance.health import DATABASE_UNAVAILABLE_ERRORS
from lfr_governance.permissions import require

from . import counts, frames
from .choices import DECISIONS_TAKING_OUTCOME, Decision, Outcome
from .landmarks import landmarks_problem
from .models import Alert
from .routing import frame_queue
from .selectors import (
    ADJUDICATE_PERM,
    OPERATE_PERM,
    PERCEIVED_ATTRIBUTES,
    PERCEIVED_NOT_RECORDED,
    deployment_problem,
    edge_counting_deployment,
)

EDGE_IMAGE_FORMATS = {"JPEG", "PNG"}
# Redis or the broker unreachable: the node is told to retry (503), and nothing is kept.
QUEUE_ERRORS = (redis.RedisError, kombu.exceptions.OperationalError, ConnectionError)
NOT_MATCHING_RETRY_SECONDS = 30
BUSY_RETRY_MAX_SECONDS = 10
logger = logging.getLogger(__name__)


class EdgeRefusal(Exception):
    """Why an edge request is refused, as the node is told it: a code, a message, an HTTP status and, where one
    field was wrong, its name."""

    def __init__(self, code: str, message: str, status: int = 400, retry_after: int | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.retry_after = code, message, status, retry_after
        self.field = field


# --- Edge nodes: admitting frames and detections ----------------------------------------------


def edge_refusal_count(deployment: Deployment | None, *, busy: bool = False) -> None:
    """One request refused, counted on the deployment; `busy`: refused because the workers were full."""
    if deployment is not None:
        changes = {"frames_refused": F("frames_refused") + 1}
        if busy:
            changes["frames_refused_busy"] = F("frames_refused_busy") + 1
        DeploymentCounters.objects.filter(deployment=deployment).update(**changes)


def edge_admit(*, node: EdgeNode, live: Deployment | None, now: datetime | None = None) -> Deployment:
    """The node's live deployment (`live`, as its authentication found it), if the node may send now; refusals
    are counted where a deployment is known."""
    now = now or clock.now()
    deployment = live
    if deployment is None:
        edge_refusal_count(edge_counting_deployment(node, now))
        raise EdgeRefusal("not_live", f"Edge node {node.name} is not bound to a deployment that is live now: "
                          "nothing is accepted until it goes live (GET status shows its window).", 403)
    try:
        allowed, reported = frames.edge_gate(node.pk, settings.LFR_EDGE_MAX_FRAMES_PER_SECOND, deployment.pk)
    except QUEUE_ERRORS:
        raise _unavailable()
    if not allowed:
        edge_refusal_count(deployment)
        raise EdgeRefusal("rate_limited", f"More than {settings.LFR_EDGE_MAX_FRAMES_PER_SECOND} requests in one "
                          "second from this node: slow down and retry after a second.", 429, retry_after=1)
    problem = deployment_problem(deployment, reported=reported)
    if problem:
        # Refused, not accepted and dropped unseen: the node and the deployment's officers are told why.
        edge_refusal_count(deployment)
        raise EdgeRefusal("not_matching", f"Deployment LFR-{deployment.pk:05d} is live but its frames cannot be "
                          f"matched now ({problem}), so they are refused. Its officers see the same on the "
                          "deployment page; retry later.", 503, retry_after=NOT_MATCHING_RETRY_SECONDS)
    return deployment


def _unavailable() -> EdgeRefusal:
    logger.error("The frame queue (Redis) cannot be reached: frames are refused until it is back.")
    return EdgeRefusal("unavailable", "The server cannot queue frames just now: retry with backoff.", 503,
                       retry_after=1)


def _refuse(deployment: Deployment, code: str, message: str, status: int = 400) -> EdgeRefusal:
    edge_refusal_count(deployment)
    return EdgeRefusal(code, message, status)


def edge_time_check(*, deployment: Deployment, captured_at: datetime, now: datetime | None = None) -> None:
    now = now or clock.now()
    if date_range_problem(captured_at):  # a clock far off (year 323): say so without echoing it in a strange zone
        edge_refusal_count(deployment)
        raise EdgeRefusal("invalid", f"captured_at must be {date_range_text()}, with its UTC offset: set the node's "
                          "clock (NTP) and send frames as they are captured.", field="captured_at")
    skew = settings.LFR_EDGE_MAX_CLOCK_SKEW_SECONDS
    if abs((now - captured_at).total_seconds()) > skew:
        raise _refuse(deployment, "clock_skew", (
            f"captured_at {captured_at.isoformat()} is more than {skew} seconds from the server's time "
            f"{now.isoformat()}: set the node's clock (NTP) and send frames as they are captured."), 422)
    if not deployment.starts_at <= captured_at < deployment.ends_at:
        raise _refuse(deployment, "outside_window", (
            f"captured_at {captured_at.isoformat()} is outside the deployment's authorised window "
            f"({deployment.starts_at.isoformat()} to {deployment.ends_at.isoformat()})."), 422)


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int


def edge_image_check(data: bytes, *, what: str = "image") -> CheckedImage:
    """Header-level checks (no decoding, nothing written): type, byte size, pixel count, completeness."""
    if not data:
        raise EdgeRefusal("bad_image", f"The {what} is empty: send a JPEG or PNG.")
    limit = settings.LFR_EDGE_MAX_FRAME_BYTES
    if len(data) > limit:
        raise EdgeRefusal("image_too_large", f"The {what} is {len(data):,} bytes; the limit is {limit:,}: "
                          "lower the JPEG quality or the resolution.", 413)
    max_pixels = settings.LFR_EDGE_MAX_FRAME_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as header:  # reads the header only
                image_format, (width, height) = header.format, header.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EdgeRefusal("image_too_large", f"The {what} claims more than {max_pixels:,} pixels: send a "
                          "smaller frame.", 413)
    except Exception:
        raise EdgeRefusal("bad_image", f"The {what} is not a readable image: send a JPEG or PNG.")
    if image_format not in EDGE_IMAGE_FORMATS:
        raise EdgeRefusal("bad_image", f"The {what} is {image_format}: only JPEG and PNG are accepted.")
    if width * height > max_pixels:
        raise EdgeRefusal("image_too_large", f"The {what} is {width}x{height}; the most accepted is "
                          f"{max_pixels:,} pixels: send a smaller frame.", 413)
    if not _complete(data, image_format):
        raise EdgeRefusal("bad_image", f"The {what} is truncated: send the whole file.")
    return CheckedImage(image_format, width, height)


def _complete(data: bytes, image_format: str) -> bool:
    if image_format == "JPEG":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    return b"IEND" in data[-16:]


@dataclass(frozen=True)
class Queued:
    frame_id: str
    deployment_id: int
    status: str = "queued"


def _queue(*, node: EdgeNode, deployment: Deployment, frame_id: str, captured_at: datetime, camera: str,
           payload: bytes, received_at: float) -> Queued:
    """Stores the payload in Redis under its TTL, counts it received and queues the worker's task."""
    # Here, not at the top: the task's module loads the pipeline and the engine, which the web never needs.
    from .tasks import process_frame_task

    captured_age = (clock.now() - captured_at).total_seconds()
    queue = frame_queue(node.pk, camera)  # one camera's frames: one queue, one consumer, in order
    try:
        admission = frames.frame_admit(deployment.pk, node.pk, frame_id, payload, captured_age, queue)
    except QUEUE_ERRORS:
        raise _unavailable()
    admitted = admission.outcome
    if admitted == frames.QUEUE_FULL:
        edge_refusal_count(deployment, busy=True)
        limit = settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS
        retry_after = max(1, min(BUSY_RETRY_MAX_SECONDS, math.ceil(admission.wait_seconds - limit)))
        raise EdgeRefusal("busy", f"The workers matching this camera's frames are behind: frame {frame_id} would "
                          f"wait about {admission.wait_seconds:.0f} s before matching, and the most accepted is "
                          f"{limit:g} s, so it is refused and nothing was kept. Drop the oldest frames you hold "
                          "and send the newest after Retry-After seconds.", 503, retry_after=retry_after)
    if admitted == frames.DUPLICATE:
        raise _refuse(deployment, "duplicate_frame", f"Frame {frame_id} was already received from this node; "
                      "it is not processed twice.", 409)
    if admitted == frames.CAPTURED_BEFORE_QUEUE_START:
        # The frame-id record restarted with Redis: a frame from before then may be a replay nobody can detect.
        raise _refuse(deployment, "captured_before_restart", f"Frame {frame_id} was captured before the server's "
                      "frame queue last restarted, so it cannot be told from a frame already received: it is not "
                      "processed. Send frames as they are captured.", 409)
    # Counted received before the task exists, so no frame is ever deleted (counted by the worker) uncounted.
    try:
        counts.frame_received(deployment.pk)
    except DATABASE_UNAVAILABLE_ERRORS:
        _admission_undo(deployment, node, frame_id)
        raise  # the edge view answers 503 `unavailable`: nothing queued, the node sends the frame again
    try:
        process_frame_task.apply_async(kwargs={
            "deployment_id": deployment.pk, "node_id": node.pk, "frame_id": frame_id,
            "captured_at": captured_at.isoformat(), "received_at": received_at, "camera": camera,
        }, queue=queue,
            argsrepr="()", kwargsrepr=f"{{frame {frame_id} of node {node.pk}}}")  # a short label: no repr per frame
    except QUEUE_ERRORS:
        _admission_undo(deployment, node, frame_id)
        counts.frame_received_undo(deployment.pk)
        raise _unavailable()
    return Queued(frame_id, deployment.pk)


def _admission_undo(deployment: Deployment, node: EdgeNode, frame_id: str) -> None:
    """Forgets an admitted frame that will not be queued: its payload goes and its id may be sent again."""
    try:
        frames.payload_discard(deployment.pk, node.pk, frame_id)
        frames.frame_id_release(node.pk, frame_id)
    except QUEUE_ERRORS:
        pass  # Redis is down: the payload expires by its TTL


def frame_receive(*, node: EdgeNode, deployment: Deployment, image: bytes, frame_id: str, captured_at: datetime,
                  camera: str, received_at: float | None = None) -> Queued:
    """Admits one frame: checks its time and image, then queues it (in memory only)."""
    received_at = received_at or time.time()
    edge_time_check(deployment=deployment, captured_at=captured_at)
    try:
        edge_image_check(image)
    except EdgeRefusal as refusal:
        edge_refusal_count(deployment)
        raise refusal
    return _queue(node=node, deployment=deployment, frame_id=frame_id, captured_at=captured_at, camera=camera,
                  payload=frames.encode_frame(image), received_at=received_at)


def detections_receive(*, node: EdgeNode, deployment: Deployment, crops: list[frames.DetectionCrop], frame_id: str,
                       captured_at: datetime, camera: str, received_at: float | None = None) -> Queued:
    """Admits face crops the node detected itself (with 5 landmarks each, checked against the crop's own size, or
    none: the worker detects)."""
    received_at = received_at or time.time()
    edge_time_check(deployment=deployment, captured_at=captured_at)
    try:
        if not crops:
            raise EdgeRefusal("bad_image", "Send at least one face crop.")
        if len(crops) > settings.LFR_EDGE_MAX_CROPS_PER_REQUEST:
            raise EdgeRefusal("too_many_crops", f"{len(crops)} crops in one request; the most accepted is "
                              f"{settings.LFR_EDGE_MAX_CROPS_PER_REQUEST}.")
        for number, crop in enumerate(crops, start=1):
            checked = edge_image_check(crop.data, what=f"crop {number}")
            problem = landmarks_problem(crop.landmarks, checked.width, checked.height) if crop.landmarks else None
            if problem:
                raise EdgeRefusal("invalid", f"Landmarks of crop {number}: {problem}", field="landmarks")
    except EdgeRefusal as refusal:
        edge_refusal_count(deployment)
        raise refusal
    return _queue(node=node, deployment=deployment, frame_id=frame_id, captured_at=captured_at, camera=camera,
                  payload=frames.encode_detections(crops), received_at=received_at)


# --- Operators: deciding alerts ---------------------------------------------------------------


def _require_operator(user, alert: Alert) -> None:
    require(user, alert.deployment, OPERATE_PERM, role=ADJUDICATE_PERM,
            message="Only an operator assigned to this deployment can decide its alerts.")


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("entry").get(pk=alert.pk)


def perceived_clean(perceived: dict[str, str] | None) -> dict[str, str]:
    """How the passer-by appeared, as given (Alert field -> code), without the ones left not recorded. Only the
    fixed codes are accepted: anything else is refused, field by field, and nothing is stored."""
    perceived = dict(perceived or {})
    known = {attribute.field: attribute for attribute in PERCEIVED_ATTRIBUTES}
    errors = {name: "This is not something the console records of a passer-by." for name in perceived
              if name not in known}
    cleaned = {}
    for name, attribute in known.items():
        code = perceived.get(name) or ""
        if not isinstance(code, str) or (code and code not in attribute.choices.values):
            errors[name] = f"Choose the {attribute.label.lower()} from the list, or leave it not recorded."
        elif code:
            cleaned[name] = code
    if errors:
        raise ValidationError(errors)
    return cleaned


def _perceived_audit(perceived: dict[str, str]) -> dict:
    return {name: [None, code] for name, code in perceived.items()}


@transaction.atomic
def alert_adjudicate(*, actor, alert: Alert, decision: str, perceived: dict[str, str] | None = None) -> Alert:
    """The operator's comparison of probe and watchlist image: a score alone never decides. With a false alert the
    operator may record how the passer-by appeared (`perceived`: Alert field -> code, each optional)."""
    _require_operator(actor, alert)
    alert = _lock(alert)
    if decision not in Decision.values:
        raise ValidationError({"decision": "Choose confirmed match, false alert or unable to determine."})
    perceived = perceived_clean(perceived)
    if alert.decision:
        raise ValidationError(f"This alert was already decided ({alert.get_decision_display().lower()}) by "
                              f"{alert.decided_by.get_username() if alert.decided_by else 'another operator'}.")
    if perceived and decision != Decision.FALSE_ALERT:
        # Recorded of passers-by wrongly alerted only: never of a person the operator matched.
        raise ValidationError("How the passer-by appeared is recorded only with a false alert: set the age band, "
                              "gender and ethnicity back to not recorded, or decide false alert.")
    alert.decision, alert.decided_by, alert.decided_at = decision, actor, clock.now()
    for name, code in perceived.items():
        setattr(alert, name, code)
    alert.save(update_fields=["decision", "decided_by", "decided_at", *perceived])
    record(action=Action.ALTERATION, event="alert.adjudicate", actor=actor, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref,
           changes={"decision": [None, decision], "score": round(alert.score, 4), **_perceived_audit(perceived)})
    return alert


@transaction.atomic
def alert_perception_record(*, actor, alert: Alert, perceived: dict[str, str]) -> Alert:
    """How the passer-by of a decided false alert appeared, added afterwards: each attribute once, never changed."""
    _require_operator(actor, alert)
    alert = _lock(alert)
    perceived = perceived_clean(perceived)
    if alert.decision != Decision.FALSE_ALERT:
        raise ValidationError("How the passer-by appeared is recorded only on an alert decided as a false alert.")
    if not perceived:
        raise ValidationError("Choose at least one of the age band, gender or ethnicity.")
    labels = {attribute.field: attribute.label for attribute in PERCEIVED_ATTRIBUTES}
    already = {name: f"The {labels[name].lower()} was already recorded "
                     f"({getattr(alert, f'get_{name}_display')().lower()})." for name in perceived
               if getattr(alert, name)}
    if already:
        raise ValidationError(already)
    for name, code in perceived.items():
        setattr(alert, name, code)
    alert.save(update_fields=list(perceived))
    record(action=Action.ALTERATION, event="alert.perception", actor=actor, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref,
           changes=_perceived_audit(perceived))
    return alert


@transaction.atomic
def alert_outcome_record(*, actor, alert: Alert, outcome: str, text: str = "") -> Alert:
    _require_operator(actor, alert)
    alert = _lock(alert)
    if alert.decision not in DECISIONS_TAKING_OUTCOME:
        raise ValidationError("Record the engagement outcome only after confirming the match.")
    if alert.outcome:
        raise ValidationError(f"The outcome was already recorded ({alert.get_outcome_display().lower()}).")
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": "Choose the engagement outcome."})
    text = text.strip()
    if outcome == Outcome.OTHER and not text:
        raise ValidationError({"outcome_text": "Describe the outcome."})
    alert.outcome, alert.outcome_text, alert.outcome_by, alert.outcome_at = outcome, text, actor, clock.now()
    alert.save(update_fields=["outcome", "outcome_text", "outcome_by", "outcome_at"])
    record(action=Action.ALTERATION, event="alert.outcome", actor=actor, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref,
           changes={"outcome": [None, outcome], "text": text})
    return alert


@transaction.atomic
def alert_erase(*, alert: Alert, actor_label: str, reason: str) -> None:
    """Erases one alert and its probe crop (the retention purge): audited as an erasure that names the record.

    The published record keeps its figures after the alert itself is gone: its decision and outcome (and, for a
    false alert, how the passer-by appeared) are added to the deployment's erased counts first. The file goes once
    the transaction has committed.
    """
    alert = Alert.objects.select_for_update().select_related("entry").get(pk=alert.pk)
    DeploymentCounters.objects.filter(deployment_id=alert.deployment_id).update(
        erased_alerts=F("erased_alerts") + 1,
        erased_true_alerts=F("erased_true_alerts") + int(alert.decision == Decision.CONFIRMED),
        erased_false_alerts=F("erased_false_alerts") + int(alert.decision == Decision.FALSE_ALERT),
        erased_engagements=F("erased_engagements") + int(alert.outcome != ""),
        erased_arrests=F("erased_arrests") + int(alert.outcome == Outcome.ARRESTED),
    )
    if alert.decision == Decision.FALSE_ALERT:
        _erased_appearance_add(alert)
    name = alert.probe_image.name
    record(action=Action.ERASURE, event="alert.erase", actor_label=actor_label, target=alert,
           deployment_id=alert.deployment_id, subject_ref=alert.entry.subject_ref, changes={"reason": reason})
    alert.delete()
    delete_on_commit([name])


def _erased_appearance_add(alert: Alert) -> None:
    """Adds an erased false alert's perceived age band, gender and ethnicity (or not_recorded) to the deployment's
    counts: {"age_band": {"25_34": 2, "not_recorded": 1}, "gender": {...}, "ethnicity": {...}}."""
    counters = DeploymentCounters.objects.select_for_update().filter(deployment_id=alert.deployment_id).first()
    if counters is None:
        return
    tally = counters.erased_false_alert_demographics if isinstance(counters.erased_false_alert_demographics,
                                                                   dict) else {}
    for attribute in PERCEIVED_ATTRIBUTES:
        group = tally.get(attribute.key) if isinstance(tally.get(attribute.key), dict) else {}
        code = getattr(alert, attribute.field) or PERCEIVED_NOT_RECORDED
        group[code] = int(group.get(code) or 0) + 1
        tally[attribute.key] = group
    counters.erased_false_alert_demographics = tally
    counters.save(update_fields=["erased_false_alert_demographics"])
