"""The worker's side of live matching: one frame in, alerts (if any) out, everything else dropped.

A frame arrives as ids in the task message and bytes in Redis (frames.py). The worker decodes it,
detects, aligns and embeds every face, and searches the deployment's gallery, which it keeps in
memory keyed by the watchlist version and digest. A face scoring at or above the deployment's threshold makes an
Alert (its probe crop becomes alert data in the media folder). Nothing else about the frame is kept:
the payload is deleted from Redis in the same task, the arrays go out of scope, and only counts and
the deletion time are written. Nothing here logs pixels, crops, templates or scores of non-matches.

Threshold and greyscale frames: the alert threshold is always the deployment's threshold as authorised,
for colour and greyscale frames alike, and each alert records which kind of frame it came from. The
model pack's greyscale threshold is lower (greyscale lowers genuine scores), but lowering the threshold
on greyscale frames would apply a number below what the authorising officer approved, against an
expected-false-alert estimate made at the colour threshold. Keeping the authorised number is the
stricter side (fewer false alerts, some missed matches on greyscale frames); a force that wants the
greyscale operating point asks its authorising officer for a lower threshold, with a justification.

Redelivery: the task is acknowledged late. The payload stays in Redis until the frame is finished,
so a worker killed mid-task leaves the frame for redelivery; `frame_finish` then deletes the payload
and sets a "done" key in one MULTI, so a message delivered again after that is not processed twice,
and alerts are unique per (edge node, frame id, face), so a frame re-run before that point cannot make
a second alert.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

import cv2
import numpy as np
import redis
from django.conf import settings
from django.core.files.base import ContentFile

from deployments.choices import AuthorisationDecision, DeploymentStatus
from deployments.models import Authorisation, Deployment, EdgeNode
from lfr_governance import clock
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.faces import get_engine
from lfr_governance.files import atomic_with_files
from watchlists.choices import ImageState
from watchlists.models import ReferenceImage, WatchlistVersion
from watchlists.selectors import version_digest

from . import counts, frames
from .choices import Imaging
from .engine import Face, Gallery, decode_image, is_greyscale
from .landmarks import landmarks_problem
from .models import Alert
from .selectors import watchlist_problem

logger = logging.getLogger(__name__)

CONTEXT_TTL_SECONDS = 1.0  # how long the worker trusts what it knows of a deployment (live, digest)
CONTEXT_FORGET_SECONDS = 120.0  # a deployment no frame came for in this long is forgotten, with its gallery
# How long a published problem stands without being reported again: the edge API refuses frames meanwhile, and the
# first frame after it lapses is matched again (or the problem is reported again).
PROBLEM_TTL_SECONDS = 60
PROBE_MAX_SIDE = 256
PROBE_MARGIN = 0.4


@dataclass
class WatchlistGallery:
    digest: str
    pack_id: str
    gallery: Gallery
    image_entries: dict[int, tuple[int, str]]  # reference image id -> (watchlist entry id, subject reference)


@dataclass
class DeploymentContext:
    deployment_id: int
    live: bool
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    threshold: float = 1.0
    version_id: int = 0
    digest: str = ""
    problem: str = ""
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def gallery_key(self) -> tuple[int, str]:
        return self.version_id, self.digest


_lock = threading.Lock()
_contexts: dict[int, DeploymentContext] = {}
# By (watchlist version, digest): deployments of one version share a gallery. The version is part of the key
# because two versions with the same content have the same digest but their own image rows.
_galleries: dict[tuple[int, str], WatchlistGallery] = {}
_node_refs: dict[int, str] = {}
_reported_problems: set[tuple[int, str]] = set()


def deployment_context(deployment_id: int) -> DeploymentContext:
    """What the worker needs of a deployment, re-read at most every CONTEXT_TTL_SECONDS."""
    with _lock:
        known = _contexts.get(deployment_id)
        if known is not None and time.monotonic() - known.checked_at < CONTEXT_TTL_SECONDS:
            return known
        context = _context_load(deployment_id)
        _contexts[deployment_id] = context
        _galleries_prune()
        return context


def _context_load(deployment_id: int) -> DeploymentContext:
    row = Deployment.objects.filter(pk=deployment_id).values(
        "status", "starts_at", "ends_at", "threshold", "watchlist_version_id", "watchlist_version__digest",
        "watchlist_version__status",
    ).first()
    now = clock.now()
    if row is None or row["status"] != DeploymentStatus.LIVE or not row["starts_at"] <= now < row["ends_at"]:
        return DeploymentContext(deployment_id, live=False)
    context = DeploymentContext(deployment_id, live=True, starts_at=row["starts_at"], ends_at=row["ends_at"],
                                threshold=float(row["threshold"]), version_id=row["watchlist_version_id"],
                                digest=row["watchlist_version__digest"])
    authorised = Authorisation.objects.filter(
        deployment_id=deployment_id, decision=AuthorisationDecision.AUTHORISED, superseded_at__isnull=True,
    ).values_list("bound_watchlist_digest", flat=True).first()
    context.problem = watchlist_problem(version_status=row["watchlist_version__status"], version_digest=context.digest,
                                        authorised_digest=authorised)
    if not context.problem and context.gallery_key not in _galleries:
        try:
            _galleries[context.gallery_key] = gallery_build(context.version_id, context.digest)
        except ValueError as exc:
            context.problem = str(exc)
    if context.problem:
        _problem_report(deployment_id, context.problem)
    else:
        _problem_clear(deployment_id)
    return context


def gallery_build(version_id: int, authorised_digest: str) -> WatchlistGallery:
    """The frozen version's accepted templates, after checking they still make the authorised digest."""
    version = WatchlistVersion.objects.get(pk=version_id)
    if version_digest(version) != authorised_digest:
        raise ValueError("the watchlist's entries or templates no longer match the authorised digest")
    rows = list(ReferenceImage.objects.filter(entry__version_id=version_id, state=ImageState.ACCEPTED)
                .values_list("pk", "entry_id", "entry__subject_ref", "template", "pack_id"))
    if not rows or any(pack != version.pack_id for *_, pack in rows):
        raise ValueError("the watchlist has no templates from its model pack")
    matrix = np.vstack([np.frombuffer(bytes(template), dtype=np.float32) for *_, template, _ in rows])
    return WatchlistGallery(authorised_digest, version.pack_id, Gallery(matrix, [pk for pk, *_ in rows]),
                            {pk: (entry, ref) for pk, entry, ref, *_ in rows})


def galleries_forget_stale() -> None:
    """Forgets deployments no frame came for lately, and so the galleries of ended ones (run before each task)."""
    with _lock:
        now = time.monotonic()
        for deployment_id, context in list(_contexts.items()):
            if now - context.checked_at > CONTEXT_FORGET_SECONDS:
                del _contexts[deployment_id]
        _galleries_prune()


def _galleries_prune() -> None:
    """Drops galleries no live deployment uses (a destroyed watchlist must not live on in a worker)."""
    in_use = {c.gallery_key for c in _contexts.values() if c.live and not c.problem}
    for key in list(_galleries):
        if key not in in_use:
            del _galleries[key]


def _problem_report(deployment_id: int, problem: str) -> None:
    """Logged, audited once per worker, and published (frames.problem_report) so that the edge API refuses the
    deployment's frames and its page and /healthz show why, until the problem is gone."""
    logger.error("Deployment %s: %s; its frames are dropped without matching.", deployment_id, problem)
    try:
        frames.problem_report(deployment_id, problem, PROBLEM_TTL_SECONDS)
    except redis.RedisError:  # the frame cannot be finished either; the task's own error path reports it
        logger.warning("Deployment %s: its problem could not be published (Redis unreachable).", deployment_id)
    if (deployment_id, problem) not in _reported_problems:
        _reported_problems.add((deployment_id, problem))
        record(action=Action.ALTERATION, event="matching.deployment_refused", actor_label="matching worker",
               target_type="deployments.deployment", target_id=deployment_id, deployment_id=deployment_id,
               changes={"problem": problem})


def _problem_clear(deployment_id: int) -> None:
    """The deployment's frames can be matched (again): the published problem goes, and a new one is audited."""
    _reported_problems.difference_update({key for key in _reported_problems if key[0] == deployment_id})
    try:
        frames.problem_clear(deployment_id)
    except redis.RedisError:
        pass  # it expires by itself


def _node_ref(node_id: int) -> str:
    if node_id not in _node_refs:
        _node_refs[node_id] = EdgeNode.objects.filter(pk=node_id).values_list("token_prefix", flat=True).first() or ""
    return _node_refs[node_id]


# --- One frame --------------------------------------------------------------------------------


@dataclass
class FrameResult:
    status: str = "processed"  # processed | skipped | failed | expired | duplicate
    faces: int = 0
    alerts: int = 0


@dataclass
class PendingAlert:
    face_index: int
    image_id: int
    score: float
    probe_jpeg: bytes
    imaging: str


def frame_process(*, deployment_id: int, node_id: int, frame_id: str, captured_at: str, received_at: float,
                  camera: str) -> FrameResult:
    """The task body. Idempotent per frame; the payload is gone from Redis when it returns."""
    done, payload = frames.payload_fetch(deployment_id, node_id, frame_id)
    if done:
        frames.payload_discard(deployment_id, node_id, frame_id)
        return FrameResult("duplicate")
    if payload is None:
        # Nobody reached the frame within its TTL: Redis has already deleted it.
        deletion_ms = settings.LFR_FRAME_PAYLOAD_TTL_SECONDS * 1000.0
        frames.frame_finish(deployment_id, node_id, frame_id, deletion_ms)
        _counts_record(deployment_id, FrameResult("expired"), deletion_ms)
        return FrameResult("expired")
    try:
        result = _frame_match(payload, deployment_id=deployment_id, node_id=node_id, frame_id=frame_id,
                              captured_at=datetime.fromisoformat(captured_at), received_at=received_at, camera=camera)
    except Exception as exc:  # a bad frame or a fault: the frame is still deleted below
        logger.error("Frame from node %s for deployment %s dropped unprocessed (%s).", node_id, deployment_id,
                     exc.__class__.__name__)
        result = FrameResult("failed")
    finally:
        del payload
        # The payload is deleted by this call: its latency is measured now, from receipt.
        deletion_ms = max(0.0, (time.time() - received_at) * 1000.0)
        frames.frame_finish(deployment_id, node_id, frame_id, deletion_ms)
    _counts_record(deployment_id, result, deletion_ms)
    return result


def _frame_match(payload: bytes, *, deployment_id: int, node_id: int, frame_id: str, captured_at: datetime,
                 received_at: float, camera: str) -> FrameResult:
    context = deployment_context(deployment_id)
    watchlist = _galleries.get(context.gallery_key)
    if not context.live or context.problem or watchlist is None:
        return FrameResult("skipped")
    if not context.starts_at <= captured_at < context.ends_at:
        return FrameResult("skipped")
    engine = get_engine(watchlist.pack_id)
    kind, body = frames.decode_payload(payload)
    if kind == "frame":
        image = decode_image(body)
        faces, embeddings = engine.templates(image)
        sources = [(image, face) for face in faces]
    else:
        sources, crops = [], []
        for number, crop in enumerate(body, start=1):
            image = decode_image(crop.data)
            face = _crop_face(engine, image, crop.landmarks)
            if face is None:
                continue
            try:
                aligned = engine.align(image, face)
            except (np.linalg.LinAlgError, ValueError, cv2.error) as exc:  # one crop's fault: the others still match
                logger.warning("Crop %s of a frame from node %s dropped: it could not be aligned (%s).", number,
                               node_id, exc.__class__.__name__)
                continue
            sources.append((image, face))
            crops.append(aligned)
        embeddings = engine.embed(crops)
        del crops
    del body
    pending: list[PendingAlert] = []
    if sources:
        for index, found in enumerate(watchlist.gallery.search(embeddings, k=1, threshold=context.threshold)):
            if found:
                image, face = sources[index]
                crop = _probe_crop(image, face)
                # The face's own pixels tell a greyscale (night-mode) frame from a colour one.
                imaging = Imaging.GREYSCALE if is_greyscale(crop) else Imaging.COLOUR
                pending.append(PendingAlert(index, int(found[0].label), found[0].score, _jpeg(crop), imaging))
    result = FrameResult("processed", faces=len(sources), alerts=len(pending))
    del sources, embeddings  # the frame, its faces and templates end here
    if pending:
        _alerts_create(pending, watchlist=watchlist, context=context, node_id=node_id, frame_id=frame_id,
                       captured_at=captured_at, received_at=received_at, camera=camera)
    return result


def _crop_face(engine, image: np.ndarray, landmarks) -> Face | None:
    """The face in an edge node's crop: from its 5 landmarks, or the detector's best face when none came. None when
    the landmarks cannot place a face (the edge API refuses them; a payload queued without that check may not)."""
    if landmarks:
        height, width = image.shape[:2]
        if landmarks_problem(landmarks, width, height):
            logger.warning("A crop was dropped unmatched: its landmarks cannot place a face.")  # no coordinates
            return None
        return Face((0.0, 0.0, float(width), float(height)), np.asarray(landmarks, dtype=np.float32).reshape(5, 2), 1.0)
    found = engine.detect(image)
    return max(found, key=lambda f: f.score) if found else None


def _probe_crop(image: np.ndarray, face: Face) -> np.ndarray:
    """The face with a margin, at most PROBE_MAX_SIDE pixels."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = face.box
    mx, my = (x2 - x1) * PROBE_MARGIN, (y2 - y1) * PROBE_MARGIN
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(width, int(x2 + mx)), min(height, int(y2 + my))
    crop = image[top:bottom, left:right] if right > left and bottom > top else image
    scale = PROBE_MAX_SIDE / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    return crop


def _jpeg(crop: np.ndarray) -> bytes:
    """JPEG bytes, encoded in memory."""
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("probe crop could not be encoded")
    return encoded.tobytes()


def _alerts_create(pending: list[PendingAlert], *, watchlist: WatchlistGallery, context: DeploymentContext,
                   node_id: int, frame_id: str, captured_at: datetime, received_at: float, camera: str) -> None:
    # A frame re-run after a crash finds the alerts its first run wrote (one query for all its faces). Two
    # workers racing on one frame cannot both write: the unique (node, frame, face) makes the second fail
    # and roll back, and the first run's alert stands.
    existing = set(Alert.objects.filter(edge_node_id=node_id, frame_id=frame_id).values_list("face_index", flat=True))
    # The probe file is written before its row: if the rows roll back, the block removes the files.
    with atomic_with_files():
        for item in pending:
            if item.face_index in existing:
                continue
            alert = Alert(
                edge_node_id=node_id, frame_id=frame_id, face_index=item.face_index,
                deployment_id=context.deployment_id, camera=camera,
                entry_id=watchlist.image_entries[item.image_id][0], reference_image_id=item.image_id,
                probe_image=ContentFile(item.probe_jpeg, name="probe.jpg"),
                score=item.score, threshold=context.threshold, pack_id=watchlist.pack_id,
                imaging=item.imaging, captured_at=captured_at,
                received_at=datetime.fromtimestamp(received_at, dt_timezone.utc), alerted_at=clock.now(),
            )
            alert.save(force_insert=True)
            record(action=Action.COLLECTION, event="alert.create", actor_label="matching worker",
                   edge_node_ref=_node_ref(node_id), target=alert, deployment_id=context.deployment_id,
                   subject_ref=watchlist.image_entries[item.image_id][1],
                   changes={"score": round(item.score, 4), "threshold": context.threshold,
                            "pack": watchlist.pack_id, "camera": camera, "imaging": item.imaging})


def _counts_record(deployment_id: int, result: FrameResult, deletion_ms: float) -> None:
    counts.frame_finished(deployment_id, processed=result.status == "processed", faces=result.faces,
                          alerts=result.alerts, deletion_ms=deletion_ms)
