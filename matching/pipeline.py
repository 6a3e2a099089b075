"""The worker's side of live matching: one frame in, alerts (if any) out, everything else dropped.

A frame arrives as ids in the task message and bytes in Redis (frames.py). The worker decodes it,
detects, aligns and embeds every face, and searches the deployment's gallery, which it keeps in
memory keyed by the watchlist version and digest. A face scoring at or above the deployment's threshold for the
frame's imaging condition makes an Alert (its probe crop becomes alert data in the media folder). Nothing else
about the frame is kept: the payload is deleted from Redis in the same task, the arrays go out of scope, and only
counts and the deletion time are written. Nothing here logs pixels, crops, templates or scores of non-matches.

Threshold and greyscale frames: greyscale (night-mode) frames lower genuine scores, so the authorising
officer authorises two thresholds, a colour one and a greyscale one, each proposed from the model pack's
calibration for that condition (and each with its expected-false-alert estimate). A frame is greyscale when the
engine's `is_greyscale` says so of the whole frame, or, for crops an edge node sent, of every crop (one crop in
colour shows the camera was in colour); it is matched at that condition's threshold, and each alert records the
threshold applied and the condition of the frame that confirmed it. An application made before the greyscale
threshold existed has none: its greyscale frames are matched at its colour threshold, as authorised then.

Several images per entry: the gallery holds one row per watchlist entry, the L2-normalised mean of its accepted
images' templates (on our calibration data, better than either image or the best of them); an alert names the
entry and shows its first accepted image beside the probe.

Crops without landmarks: the face is found with a border around the crop (engine/crops.py) and aligned in the
bordered crop. A crop with no face found, unusable landmarks or one that cannot be aligned is counted
(crops_without_face) and dropped, never kept.

Redelivery: the task is acknowledged late. The payload stays in Redis until the frame is finished,
so a worker killed mid-task leaves the frame for redelivery; `frame_finish` then deletes the payload
and sets a "done" key in one MULTI, so a message delivered again after that is not processed twice,
and alerts are unique per (edge node, frame id, face), so a frame re-run before that point cannot make
a second alert.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

import cv2
import numpy as np
import redis
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import Q

from deployments.choices import AuthorisationDecision, DeploymentStatus
from deployments.models import Authorisation, Deployment, EdgeNode
from lfr_governance import clock
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.faces import get_engine
from lfr_governance.files import atomic_with_files, delete_on_commit
from lfr_governance.health import DATABASE_UNAVAILABLE_ERRORS
from watchlists.choices import ImageState
from watchlists.models import ReferenceImage, WatchlistVersion
from watchlists.selectors import version_digest

from . import counts, frames, tracks
from .choices import Imaging
from .engine import Face, Gallery, decode_image, is_greyscale
from .engine.crops import face_in_crop
from .engine.gallery import mean_template
from .engine.sightings import FaceSource, FrameEvent, frame_sources, frame_track
from .engine.tracking import CameraTracks, Confirmed, Sighting as TrackSighting, Track, TrackingRule
from .landmarks import landmarks_problem
from .models import Alert, Sighting
from .routing import frame_queue
from .selectors import watchlist_problem

logger = logging.getLogger(__name__)

CONTEXT_TTL_SECONDS = 1.0  # how long the worker trusts what it knows of a deployment (live, digest)
CONTEXT_FORGET_SECONDS = 120.0  # a deployment no frame came for in this long is forgotten, with its gallery
# How long a published problem stands without being reported again: the edge API refuses frames meanwhile, and the
# first frame after it lapses is matched again (or the problem is reported again).
PROBLEM_TTL_SECONDS = 60
PROBE_MAX_SIDE = 256
PROBE_MARGIN = 0.4


@dataclass(frozen=True)
class GalleryEntry:
    """What an alert needs of a watchlist entry besides its gallery row."""

    subject_ref: str
    reference_image_id: int  # its first accepted image: what the operator sees beside the probe crop
    images: int  # the accepted images whose templates' mean is its row


@dataclass
class WatchlistGallery:
    digest: str
    pack_id: str
    gallery: Gallery  # one row per entry, labelled by the entry's id
    entries: dict[int, GalleryEntry]

    def entry_of(self, label: int) -> int:
        return int(label)  # the gallery's labels are entries


@dataclass
class DeploymentContext:
    deployment_id: int
    live: bool
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    threshold: float = 1.0  # colour frames
    threshold_greyscale: float = 1.0  # greyscale frames: the colour threshold where the application has none
    confirmation_frames: int = 1
    version_id: int = 0
    digest: str = ""
    problem: str = ""
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def gallery_key(self) -> tuple[int, str]:
        return self.version_id, self.digest

    def threshold_for(self, greyscale: bool) -> float:
        return self.threshold_greyscale if greyscale else self.threshold


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
        "status", "starts_at", "ends_at", "threshold", "threshold_greyscale", "confirmation_frames",
        "watchlist_version_id",
        "watchlist_version__digest",
        "watchlist_version__status",
    ).first()
    now = clock.now()
    if row is None or row["status"] != DeploymentStatus.LIVE or not row["starts_at"] <= now < row["ends_at"]:
        return DeploymentContext(deployment_id, live=False)
    context = DeploymentContext(deployment_id, live=True, starts_at=row["starts_at"], ends_at=row["ends_at"],
                                threshold=float(row["threshold"]),
                                threshold_greyscale=float(row["threshold"] if row["threshold_greyscale"] is None
                                                          else row["threshold_greyscale"]),
                                confirmation_frames=row["confirmation_frames"],
                                version_id=row["watchlist_version_id"],
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
    """The frozen version's gallery, after checking its entries and templates still make the authorised digest:
    one row per entry, the mean of its accepted images' templates (engine.gallery.mean_template)."""
    version = WatchlistVersion.objects.get(pk=version_id)
    if version_digest(version) != authorised_digest:
        raise ValueError("the watchlist's entries or templates no longer match the authorised digest")
    rows = list(ReferenceImage.objects.filter(entry__version_id=version_id, state=ImageState.ACCEPTED)
                .order_by("entry_id", "created_at", "pk")
                .values_list("pk", "entry_id", "entry__subject_ref", "template", "pack_id"))
    if not rows or any(pack != version.pack_id for *_, pack in rows):
        raise ValueError("the watchlist has no templates from its model pack")
    by_entry: dict[int, list[tuple[int, str, np.ndarray]]] = {}
    for pk, entry, ref, template, _ in rows:
        by_entry.setdefault(entry, []).append((pk, ref, np.frombuffer(bytes(template), dtype=np.float32)))
    matrix = np.vstack([mean_template([template for *_, template in images]) for images in by_entry.values()])
    entries = {entry: GalleryEntry(images[0][1], images[0][0], len(images)) for entry, images in by_entry.items()}
    return WatchlistGallery(authorised_digest, version.pack_id, Gallery(matrix, list(by_entry)), entries)


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
    alerts: int = 0  # alerts made (people); a track that joined an open alert is in tracks_alerted only
    tracks: int = 0  # tracks started: passers-by
    candidates: int = 0  # tracks at or above threshold for the first time in this frame
    tracks_alerted: int = 0
    sightings: int = 0
    embeddings: int = 0
    crops_without_face: int = 0  # crops sent without a face found in them (or that could not be aligned)
    track_state: frames.TrackState | None = None


def tracking_rule(context: DeploymentContext, greyscale: bool = False) -> TrackingRule:
    """The rule for one frame: the threshold authorised for its imaging condition."""
    return TrackingRule(threshold=context.threshold_for(greyscale), confirm_frames=context.confirmation_frames,
                        gap_seconds=settings.LFR_TRACK_GAP_SECONDS, reembed_every=settings.LFR_TRACK_REEMBED_EVERY)


def frame_process(*, deployment_id: int, node_id: int, frame_id: str, captured_at: str, received_at: float,
                  camera: str) -> FrameResult:
    """The task body. Idempotent per frame; the payload is gone from Redis when it returns, and the camera's
    tracks hold what the frame added, in the same step."""
    started = time.perf_counter()
    key = tracks.tracks_key(deployment_id, node_id, camera)
    done, payload, tracks_data = frames.payload_fetch(deployment_id, node_id, frame_id, key)
    if done is not None:
        frames.payload_discard(deployment_id, node_id, frame_id)
        if done != frames.COUNTED:  # finished, but its worker died before writing its counts: written now
            _counts_write(deployment_id, node_id, frame_id, _counts_loads(done))
        return FrameResult("duplicate")
    if payload is None:
        # Nobody reached the frame within its TTL: Redis has already deleted it.
        deletion_ms = settings.LFR_FRAME_PAYLOAD_TTL_SECONDS * 1000.0
        expired = FrameResult("expired")
        logger.error("A frame from node %s for deployment %s expired before a worker reached it: it was never "
                     "matched (the frames workers are too few for the load, or were stopped).", node_id,
                     deployment_id)
        frames.frame_finish(deployment_id, node_id, frame_id, deletion_ms, counts=_counts_dumps(expired, deletion_ms),
                            expired=True)
        _counts_write(deployment_id, node_id, frame_id, _counts_of(expired, deletion_ms))
        return expired
    try:
        result = _database_waited(
            lambda: _frame_match(payload, deployment_id=deployment_id, node_id=node_id, frame_id=frame_id,
                                 captured_at=datetime.fromisoformat(captured_at), received_at=received_at,
                                 camera=camera, tracks_key=key, tracks_data=tracks_data),
            until=received_at + settings.LFR_FRAME_PAYLOAD_TTL_SECONDS - DATABASE_WAIT_MARGIN_SECONDS,
            what=f"frame from node {node_id}")
    except Exception as exc:  # a bad frame or a fault: the frame is still deleted below
        logger.error("Frame from node %s for deployment %s dropped unprocessed (%s).", node_id, deployment_id,
                     exc.__class__.__name__)
        result = FrameResult("failed")
    finally:
        del payload
        # The payload is deleted by this call: its latency is measured now, from receipt.
        deletion_ms = max(0.0, (time.time() - received_at) * 1000.0)
    frames.frame_finish(deployment_id, node_id, frame_id, deletion_ms, result.track_state,
                        counts=_counts_dumps(result, deletion_ms),
                        service=(None if result.status == "skipped"  # not matched: says nothing of the speed
                                 else _service_measured(frame_queue(node_id, camera), time.perf_counter() - started)))
    finishing = time.perf_counter()
    _counts_write(deployment_id, node_id, frame_id, _counts_of(result, deletion_ms))
    _finish_seconds[0] = time.perf_counter() - finishing
    return result


# The queue's consumer's seconds per frame, as the admission check reads it (frames.service_key): a moving average
# of the frames this process matched (with the last frame's counts write, which comes after its finish, added).
SERVICE_AVERAGE_WEIGHT = 0.2
SERVICE_SAMPLE_CAP_SECONDS = 2.0  # a frame that built a gallery says little of the next
_service_average: dict[str, float] = {}
_service_seen: set[str] = set()
_finish_seconds = [0.0]


def _service_measured(queue: str, seconds: float) -> frames.Service | None:
    """The queue's moving average after this frame; None (nothing reported) for the first frame this process
    matched from the queue, which loaded the engine and the gallery and says nothing of the frames after it."""
    if queue not in _service_seen:
        _service_seen.add(queue)
        return None
    sample = min(seconds + _finish_seconds[0], SERVICE_SAMPLE_CAP_SECONDS)
    average = _service_average.get(queue)
    average = sample if average is None else average + SERVICE_AVERAGE_WEIGHT * (sample - average)
    _service_average[queue] = average
    return frames.Service(queue, average)


# PostgreSQL restarting or unreachable: a frame being matched waits for it (in this process, so the camera's later
# frames keep their order behind it) for as long as its payload would have lived, less a margin; its counts, once
# the frame is finished, for up to half a minute. Nothing is dropped for an outage shorter than that.
DATABASE_WAIT_MARGIN_SECONDS = 5
DATABASE_WAIT_COUNTS_SECONDS = 30


def _database_waited(work, *, until: float, what: str):
    """`work()`, tried again each second while the database is unavailable, until `until` (then the error)."""
    warned = tried_afresh = False
    while True:
        try:
            return work()
        except DATABASE_UNAVAILABLE_ERRORS:
            if not connection.in_atomic_block:
                connection.close()  # a broken connection is not reused: the next try connects afresh
            if not tried_afresh:  # a connection that broke while PostgreSQL restarted: a new one may work at once
                tried_afresh = True
                continue
            if time.time() + 1 > until:
                raise
            if not warned:
                logger.warning("PostgreSQL is unavailable: %s waits for it.", what)
                warned = True
            time.sleep(1)


def _frame_match(payload: bytes, *, deployment_id: int, node_id: int, frame_id: str, captured_at: datetime,
                 received_at: float, camera: str, tracks_key: str, tracks_data: bytes | None) -> FrameResult:
    context = deployment_context(deployment_id)
    watchlist = _galleries.get(context.gallery_key)
    if not context.live or context.problem or watchlist is None:
        return FrameResult("skipped")
    if not context.starts_at <= captured_at < context.ends_at:
        return FrameResult("skipped")
    engine = get_engine(watchlist.pack_id)
    kind, body = frames.decode_payload(payload)
    aligned: list[np.ndarray] | None = None
    crops_without_face = 0
    if kind == "frame":
        image = decode_image(body)
        greyscale = is_greyscale(image)
        sources = frame_sources(engine, image)
        del image
    else:
        sources, aligned, grey_crops = [], [], []
        for number, crop in enumerate(body, start=1):
            image = decode_image(crop.data)
            placed = _crop_face(engine, image, crop.landmarks)
            if placed is None:
                crops_without_face += 1
                continue
            align_in, align_face, face = placed
            try:
                aligned_crop = engine.align(align_in, align_face)
            except (np.linalg.LinAlgError, ValueError, cv2.error) as exc:  # one crop's fault: the others still match
                logger.warning("Crop %s of a frame from node %s dropped: it could not be aligned (%s).", number,
                               node_id, exc.__class__.__name__)
                crops_without_face += 1
                continue
            sources.append(FaceSource(image, face, None))
            aligned.append(aligned_crop)
            grey_crops.append(is_greyscale(image))
        greyscale = bool(grey_crops) and all(grey_crops)
    del body
    imaging = Imaging.GREYSCALE if greyscale else Imaging.COLOUR
    threshold = context.threshold_for(greyscale)
    camera_tracks = CameraTracks.loads(tracking_rule(context, greyscale), tracks_data)
    outcome = frame_track(engine, watchlist.gallery, watchlist.entry_of, camera_tracks, sources, frame_id=frame_id,
                          t=captured_at.timestamp(), received_at=received_at, aligned=aligned)
    del aligned
    pending = [_pending(item, threshold, imaging) for item in outcome.events if _wanted(item)]
    del sources  # the frame and its faces end here; the tracks' templates end with their tracks
    result = FrameResult("processed", faces=outcome.faces, tracks=outcome.new_tracks,
                         candidates=outcome.new_candidates, embeddings=outcome.embedded,
                         crops_without_face=crops_without_face)
    if pending:
        _alerts_write(pending, result, watchlist=watchlist, context=context, node_id=node_id, camera=camera,
                      received_at=received_at)
    now = time.time()
    # Non-match faces whose every trace is gone now: this frame's (unless their track kept one), and those whose
    # template or thumbnail their track let go (replaced, dropped when ruled out, or the track ended).
    face_deletions = tuple(max(0.0, (now - received) * 1000.0) for received in camera_tracks.take_released())
    result.track_state = frames.TrackState(tracks_key, camera_tracks.dumps() if camera_tracks.tracks else None,
                                           tracks.ttl_milliseconds(), tracks.face_deletion_key(deployment_id),
                                           face_deletions)
    return result


@dataclass
class PendingWrite:
    """An alert to make (confirmed) or a sighting to add, with the probe crop when this face is the track's best."""

    event: Confirmed | TrackSighting
    track: Track
    frame_id: str
    face_index: int
    t: float
    quality: float
    score: float | None
    probe_jpeg: bytes | None
    imaging: str  # the frame's imaging condition
    threshold: float  # the threshold applied to the frame: the one authorised for that condition


def _wanted(item: FrameEvent) -> bool:
    # A sighting of a track whose alert could not be written (an earlier fault) has nothing to join.
    return isinstance(item.event, Confirmed) or item.event.track.alert_id is not None


def _pending(item: FrameEvent, threshold: float, imaging: str) -> PendingWrite:
    event, obs = item.event, item.assignment.observation
    track = event.track
    # Only a face compared this frame and at or above threshold for the alert's entry may become its probe crop: a
    # face carried by its track unseen by the gallery could be someone who stepped into the tracked box.
    better = isinstance(event, Confirmed) or (
        obs.quality > track.probe_quality and event.score is not None and event.score >= threshold)
    probe = None
    if better:
        probe = _jpeg(_probe_crop(item.source.image, item.source.face))
        track.probe_quality = obs.quality
    score = event.hits[-1].score if isinstance(event, Confirmed) else event.score
    return PendingWrite(event, track, obs.frame_id, obs.face_index, obs.t, obs.quality, score, probe, imaging,
                        threshold)


def _crop_face(engine, image: np.ndarray, landmarks) -> tuple[np.ndarray, Face, Face] | None:
    """The face in an edge node's crop, as (the image to align it in, the face there, the face in the crop's own
    pixels): from its 5 landmarks, or, when none came, the detector's best face in the crop with a border around it
    (engine.crops.face_in_crop: detectors miss faces that fill the image). None when no face is found, or the
    landmarks cannot place one (the edge API refuses them; a payload queued without that check may not)."""
    height, width = image.shape[:2]
    if landmarks:
        if landmarks_problem(landmarks, width, height):
            logger.warning("A crop was dropped unmatched: its landmarks cannot place a face.")  # no coordinates
            return None
        face = Face((0.0, 0.0, float(width), float(height)), np.asarray(landmarks, dtype=np.float32).reshape(5, 2), 1.0)
        return image, face, face
    found = face_in_crop(engine, image)
    if found is None:
        return None
    padded, face = found
    # The border is the same on both sides: the face moved back into the crop's pixels (for the probe crop).
    dy, dx = (padded.shape[0] - height) // 2, (padded.shape[1] - width) // 2
    x1, y1, x2, y2 = face.box
    in_crop = Face((x1 - dx, y1 - dy, x2 - dx, y2 - dy), face.landmarks - np.float32([dx, dy]), face.score)
    return padded, face, in_crop


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


def _moment(t: float) -> datetime:
    return datetime.fromtimestamp(t, dt_timezone.utc)


def _alerts_write(pending: list[PendingWrite], result: FrameResult, *, watchlist: WatchlistGallery,
                  context: DeploymentContext, node_id: int, camera: str, received_at: float) -> None:
    """Alerts for tracks confirmed in this frame (new, or joining the same person's open alert on this camera) and
    sightings for alerted tracks, in one transaction. Idempotent: a frame re-run after a crash starts from the
    tracks as they were before it, finds the alert its first run made (one per track and entry) and adds no
    sighting twice (one per alert, frame and face)."""
    merge = timedelta(seconds=settings.LFR_ALERT_MERGE_SECONDS)
    # The probe file is written before its row: if the rows roll back, the block removes the files.
    with atomic_with_files():
        for item in pending:
            if isinstance(item.event, Confirmed):
                _alert_confirm(item, result, watchlist=watchlist, context=context, node_id=node_id, camera=camera,
                               received_at=received_at, merge=merge)
            else:
                _sighting_add(item, result)


def _alert_confirm(item: PendingWrite, result: FrameResult, *, watchlist: WatchlistGallery,
                   context: DeploymentContext, node_id: int, camera: str, received_at: float,
                   merge: timedelta) -> None:
    event: Confirmed = item.event
    entry_id = int(event.entry)
    first_seen = _moment(min(hit.t for hit in event.hits))
    alert = (Alert.objects.select_for_update()
             .filter(deployment_id=context.deployment_id, edge_node_id=node_id, camera=camera, entry_id=entry_id)
             .filter(Q(track_ref=event.track.ref) | Q(last_seen_at__gte=first_seen - merge))
             .order_by("-last_seen_at").first())
    best = max(event.hits, key=lambda hit: hit.score)
    known = watchlist.entries[entry_id]
    runner_entry = int(event.runner_up_entry) if event.runner_up_entry is not None else None
    result.tracks_alerted += 1
    if alert is None:
        alert = Alert(
            edge_node_id=node_id, frame_id=item.frame_id, face_index=item.face_index, track_ref=event.track.ref,
            deployment_id=context.deployment_id, camera=camera, entry_id=entry_id,
            reference_image_id=known.reference_image_id,
            probe_image=ContentFile(item.probe_jpeg, name="probe.jpg"),
            probe_quality=item.quality, score=best.score, threshold=item.threshold, pack_id=watchlist.pack_id,
            imaging=item.imaging, captured_at=first_seen, last_seen_at=_moment(item.t),
            received_at=datetime.fromtimestamp(received_at, dt_timezone.utc), alerted_at=clock.now(),
            confirmation_frames=context.confirmation_frames, sighting_count=0,
            runner_up_entry_id=runner_entry, runner_up_score=event.runner_up_score,
        )
        alert.save(force_insert=True)
        result.alerts += 1
        record(action=Action.COLLECTION, event="alert.create", actor_label="matching worker",
               edge_node_ref=_node_ref(node_id), target=alert, deployment_id=context.deployment_id,
               subject_ref=known.subject_ref,
               changes={"score": round(best.score, 4), "threshold": item.threshold, "pack": watchlist.pack_id,
                        "camera": camera, "imaging": item.imaging, "frames_confirming": len(event.hits),
                        "confirmation_frames": context.confirmation_frames,
                        **({"runner_up_score": round(event.runner_up_score, 4)}
                           if event.runner_up_score is not None else {})})
    elif alert.track_ref == event.track.ref:
        result.alerts += 1  # this frame's first run made it and died before its counts: counted now, once
    else:
        record(action=Action.COLLECTION, event="alert.merge", actor_label="matching worker",
               edge_node_ref=_node_ref(node_id), target=alert, deployment_id=context.deployment_id,
               subject_ref=known.subject_ref,
               changes={"score": round(best.score, 4), "camera": camera, "frames_confirming": len(event.hits),
                        "merged_within_seconds": settings.LFR_ALERT_MERGE_SECONDS})
    event.track.alert_id = alert.pk
    rows = [Sighting(alert_id=alert.pk, frame_id=hit.frame_id, face_index=hit.face_index, track_ref=event.track.ref,
                     captured_at=_moment(hit.t), score=hit.score, quality=hit.quality) for hit in event.hits]
    result.sightings += _sightings_insert(alert, rows, item, score=best.score)


def _sighting_add(item: PendingWrite, result: FrameResult) -> None:
    track = item.track
    alert = Alert.objects.select_for_update().filter(pk=track.alert_id).first()
    if alert is None:  # erased meanwhile (retention): nothing to join
        track.alert_id = None
        return
    row = Sighting(alert_id=alert.pk, frame_id=item.frame_id, face_index=item.face_index, track_ref=track.ref,
                   captured_at=_moment(item.t), score=item.score, quality=item.quality)
    result.sightings += _sightings_insert(alert, [row], item, score=item.score)


def _sightings_insert(alert: Alert, rows: list[Sighting], item: PendingWrite, *, score: float | None) -> int:
    """Adds the sightings not already there, and brings the alert's count, last sighting, best score and probe
    crop (when this face is better) up to date."""
    before = alert.sighting_count
    # The frame's counts are written once, when it finishes: its sightings count whether this run or an earlier,
    # interrupted one inserted them.
    Sighting.objects.bulk_create(rows, ignore_conflicts=True)
    alert.sighting_count = Sighting.objects.filter(alert_id=alert.pk).count()
    last = max(row.captured_at for row in rows)
    changed = ["sighting_count"]
    if alert.last_seen_at is None or last > alert.last_seen_at:
        alert.last_seen_at = last
        changed.append("last_seen_at")
    if score is not None and score > alert.score:
        alert.score = score
        changed.append("score")
    if item.probe_jpeg is not None and item.quality > alert.probe_quality and alert.sighting_count > before:
        old = alert.probe_image.name
        alert.probe_image = ContentFile(item.probe_jpeg, name="probe.jpg")
        alert.probe_quality = item.quality
        # imaging stays the confirming frame's: it says which of the authorised thresholds the alert was made at.
        changed += ["probe_image", "probe_quality"]
        alert.save(update_fields=changed)
        delete_on_commit([old])
        return len(rows)
    alert.save(update_fields=changed)
    return len(rows)


def _counts_of(result: FrameResult, deletion_ms: float) -> dict:
    return {"processed": result.status == "processed", "faces": result.faces, "alerts": result.alerts,
            "deletion_ms": deletion_ms, "tracks": result.tracks, "candidates": result.candidates,
            "tracks_alerted": result.tracks_alerted, "sightings": result.sightings, "embeddings": result.embeddings,
            "crops_without_face": result.crops_without_face, "expired": result.status == "expired"}


def _counts_dumps(result: FrameResult, deletion_ms: float) -> bytes:
    return json.dumps(_counts_of(result, deletion_ms), separators=(",", ":")).encode()


def _counts_loads(data: bytes) -> dict:
    return json.loads(data)


def _counts_write(deployment_id: int, node_id: int, frame_id: str, figures: dict) -> None:
    """The frame's counts into the database (waiting out a PostgreSQL restart), then its done marker cleared of
    them. A crash in between writes them again on redelivery: a narrower window than losing them."""
    _database_waited(lambda: counts.frame_finished(deployment_id, **figures),
                     until=time.time() + DATABASE_WAIT_COUNTS_SECONDS, what="the frame's counts")
    frames.frame_counted(node_id, frame_id)
