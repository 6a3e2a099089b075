"""Where a frame lives between the edge API and the worker: Redis (run without persistence), under a TTL.

No ORM here. The keys:

- ``lfr:frame:<deployment>:<node>:<frame id>``: the frame or crops, deleted by the worker once processed
  and expiring by themselves after LFR_FRAME_PAYLOAD_TTL_SECONDS in any case;
- ``lfr:frame-seen:<node>:<frame id>``: set once (SET NX) when a frame id is accepted, so a repeat is
  answered as a duplicate; lost when Redis restarts, so frames captured before its start are refused;
- ``lfr:frame-done:<node>:<frame id>``: set when the worker has finished with a frame, so a redelivered
  message is not processed twice;
- ``lfr:edge-rate:<node>:<second>``: the per-node request count of one second;
- ``lfr:deletion-ms:<deployment>``: the latest deletion latencies (numbers only), for percentiles;
- ``lfr:tracks:<deployment>:<node>:<camera digest>``: the camera's open tracks (matching/tracks.py), saved here
  with each frame's finish;
- ``lfr:frame-ms:<frames queue>``: the queue's consumer's recent seconds per frame (a moving average, a number
  only), written with each frame's finish and read by the admission check;
- ``lfr:frames-expired-recent``: per deployment, how many accepted frames expired before a worker reached them,
  kept while expiries go on and for LFR_FRAMES_EXPIRED_ALERT_SECONDS after the last (read by /healthz);
- ``lfr:deployment-problem:<deployment>``: why the worker cannot match the deployment's frames (text, no
  personal data), under a short TTL the worker renews while the problem lasts, read by the edge API, the
  deployment page and /healthz.
"""

from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

PAYLOAD_PREFIX = "lfr:frame:"
FRAME_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
DELETION_SAMPLES_KEPT = 10_000
DELETION_SAMPLES_TTL_SECONDS = 7 * 24 * 3600
_KIND_FRAME, _KIND_DETECTIONS = b"F", b"D"


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def payload_key(deployment_id: int, node_id: int, frame_id: str) -> str:
    return f"{PAYLOAD_PREFIX}{deployment_id}:{node_id}:{frame_id}"


def seen_key(node_id: int, frame_id: str) -> str:
    return f"lfr:frame-seen:{node_id}:{frame_id}"


def done_key(node_id: int, frame_id: str) -> str:
    return f"lfr:frame-done:{node_id}:{frame_id}"


def deletion_samples_key(deployment_id: int) -> str:
    return f"lfr:deletion-ms:{deployment_id}"


def problem_key(deployment_id: int) -> str:
    return f"lfr:deployment-problem:{deployment_id}"


# --- Edge side --------------------------------------------------------------------------------


def edge_gate(node_id: int, limit: int, deployment_id: int | None, now: float | None = None) -> tuple[bool, str]:
    """(whether the node is inside its rate: a fixed one-second window per node, the first `limit` requests of each
    second pass; the problem the worker reported for the deployment, "" if none), in one round trip: what the edge
    API asks of Redis before it reads a request's body."""
    second = int(now if now is not None else time.time())
    key = f"lfr:edge-rate:{node_id}:{second}"
    pipe = client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, 2)
    if deployment_id is not None:
        pipe.get(problem_key(deployment_id))
    count, _, *problem = pipe.execute()
    reported = problem[0].decode(errors="replace") if problem and problem[0] else ""
    return int(count) <= limit, reported


def frame_id_release(node_id: int, frame_id: str) -> None:
    """Forgets a claimed id whose frame could not be queued, so the node may send it again."""
    client().delete(seen_key(node_id, frame_id))


def payload_store(deployment_id: int, node_id: int, frame_id: str, payload: bytes) -> None:
    client().set(payload_key(deployment_id, node_id, frame_id), payload, ex=settings.LFR_FRAME_PAYLOAD_TTL_SECONDS)


# Claims the frame id (SET NX) and, only if it was free, stores the payload under its TTL: one round trip.
# The frame-id keys live in Redis only, so a frame captured before Redis last started (a restart, a failover)
# may have been accepted already without a key to show it: it is refused (-1) rather than accepted twice.
# Redis's start is TIME - LASTSAVE (with persistence off, LASTSAVE is the start; a manual SAVE only moves it later,
# the stricter side), compared with the frame's age on the web's clock, so the two hosts' clocks never meet.
# Admission: the frames waiting in the camera's queue (its Celery list, LLEN) times its consumer's recent seconds per
# frame is how long a new frame would wait; past the most allowed it is refused (-2) before anything is stored, so
# no frame is accepted that its TTL would expire unmatched (an empty queue always admits). A repeat is still told it
# is a repeat (0), first.
_ADMIT_LUA = """
local now = redis.call('TIME')
-- LASTSAVE is in whole seconds (truncated): one second off its uptime keeps the check on the strict side.
local up = tonumber(now[1]) + tonumber(now[2]) / 1000000 - redis.call('LASTSAVE') - 1
if tonumber(ARGV[4]) >= up then
  return {-1, 0}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, 0}
end
local per_frame = tonumber(redis.call('GET', KEYS[4]) or ARGV[6])
local waiting = redis.call('LLEN', KEYS[3])
local wait = (waiting + 1) * per_frame
-- With nothing waiting a frame is always admitted: only the frame in flight is ahead of it, and the worker's
-- next report corrects an estimate that was wrong (a stale one from a worker that restarted).
if waiting > 0 and wait > tonumber(ARGV[5]) then
  return {-2, math.floor(wait * 1000 + 0.5)}
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
return {1, math.floor(wait * 1000 + 0.5)}
"""
ADMITTED, DUPLICATE, CAPTURED_BEFORE_QUEUE_START, QUEUE_FULL = 1, 0, -1, -2


@dataclass(frozen=True)
class Admission:
    outcome: int  # ADMITTED, DUPLICATE, CAPTURED_BEFORE_QUEUE_START or QUEUE_FULL
    wait_seconds: float  # how long the frame would wait in its queue (ADMITTED, QUEUE_FULL), from the backlog


def service_key(queue: str) -> str:
    return f"lfr:frame-ms:{queue}"


@lru_cache(maxsize=4)
def _admit_script(url: str):
    return _client(url).register_script(_ADMIT_LUA)


def frame_admit(deployment_id: int, node_id: int, frame_id: str, payload: bytes, captured_age_seconds: float,
                queue: str) -> Admission:
    """ADMITTED, with the payload stored under its TTL, the first time a node sends this frame id; DUPLICATE
    (nothing stored) for a repeat; CAPTURED_BEFORE_QUEUE_START (nothing stored) for a frame captured
    `captured_age_seconds` ago, before Redis last started; QUEUE_FULL (nothing stored, the id left free) when the
    frames already waiting in `queue` would hold it past LFR_EDGE_MAX_QUEUE_WAIT_SECONDS. Atomic: a repeat can
    never overwrite the payload of the first, and no frame is admitted past the backlog the check saw."""
    keys = [seen_key(node_id, frame_id), payload_key(deployment_id, node_id, frame_id), queue, service_key(queue)]
    args = [settings.LFR_EDGE_FRAME_ID_TTL_SECONDS, settings.LFR_FRAME_PAYLOAD_TTL_SECONDS, payload,
            f"{captured_age_seconds:.6f}", f"{settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS:.3f}",
            f"{settings.LFR_EDGE_ASSUMED_SECONDS_PER_FRAME:.4f}"]
    outcome, wait_ms = _admit_script(settings.REDIS_URL)(keys=keys, args=args)
    return Admission(int(outcome), int(wait_ms) / 1000.0)


def payload_discard(deployment_id: int, node_id: int, frame_id: str) -> None:
    client().delete(payload_key(deployment_id, node_id, frame_id))


# --- Payload format ---------------------------------------------------------------------------


@dataclass
class DetectionCrop:
    data: bytes
    landmarks: list[list[float]] | None  # 5 x [x, y] in the crop's pixels, or None: detect in the crop


def encode_frame(image: bytes) -> bytes:
    return _KIND_FRAME + image


def encode_detections(crops: list[DetectionCrop]) -> bytes:
    header = json.dumps({"sizes": [len(c.data) for c in crops], "landmarks": [c.landmarks for c in crops]}).encode()
    return _KIND_DETECTIONS + struct.pack(">I", len(header)) + header + b"".join(c.data for c in crops)


def decode_payload(payload: bytes) -> tuple[str, bytes | list[DetectionCrop]]:
    kind, body = payload[:1], payload[1:]
    if kind == _KIND_FRAME:
        return "frame", body
    if kind != _KIND_DETECTIONS:
        raise ValueError("unknown payload kind")
    (length,) = struct.unpack(">I", body[:4])
    header = json.loads(body[4:4 + length])
    crops, offset = [], 4 + length
    for size, landmarks in zip(header["sizes"], header["landmarks"], strict=True):
        crops.append(DetectionCrop(body[offset:offset + size], landmarks))
        offset += size
    return "detections", crops


# --- Worker side ------------------------------------------------------------------------------


def payload_fetch(deployment_id: int, node_id: int, frame_id: str,
                  tracks_key: str | None = None) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(the done marker, None if not done; payload; the camera's open tracks under `tracks_key`, None if none or
    not asked), in one round trip. The payload stays in Redis until `frame_finish`, so a crash loses nothing; a done
    marker other than COUNTED carries counts still to be written. The tracks are read here, before the frame is
    matched: the camera's frames have one consumer, so nothing else writes them meanwhile."""
    pipe = client().pipeline(transaction=False)
    pipe.get(done_key(node_id, frame_id))
    pipe.get(payload_key(deployment_id, node_id, frame_id))
    if tracks_key is not None:
        pipe.get(tracks_key)
    done, payload, *tracks = pipe.execute()
    return done, payload, (tracks[0] if tracks else None)


@dataclass
class TrackState:
    """The camera's open tracks after this frame (None: none left, the key goes), and the deletion latencies of
    the faces whose tracks ended without an alert (numbers only)."""

    key: str
    data: bytes | None
    ttl_ms: int
    face_deletions_key: str = ""
    face_deletions_ms: tuple[float, ...] = ()


COUNTED = b"1"


EXPIRED_RECENT_KEY = "lfr:frames-expired-recent"
# What the frames queue's consumer says of its speed: the moving average of its seconds per frame, kept this long
# after its last frame (a worker that stopped leaves its last speed, and the backlog behind it, to be judged by).
SERVICE_TTL_SECONDS = 600


@dataclass(frozen=True)
class Service:
    """The consumer's seconds per frame after this frame (a moving average), for its queue."""

    queue: str
    seconds_per_frame: float


def frame_finish(deployment_id: int, node_id: int, frame_id: str, deletion_ms: float,
                 tracks: TrackState | None = None, counts: bytes = COUNTED, service: Service | None = None,
                 expired: bool = False) -> None:
    """Deletes the payload and marks the frame done, atomically (MULTI/EXEC), with the frame's deletion
    latency (a number only) added to the deployment's samples and the camera's tracks saved (or deleted) in the
    same round trip: a frame is either finished with its effect on the tracks, or not at all.

    The done marker holds the frame's counts (numbers only) until `frame_counted` says they are in the database: a
    worker killed between the two leaves them for the redelivered message to write, never lost or written twice."""
    pipe = client().pipeline(transaction=True)
    pipe.delete(payload_key(deployment_id, node_id, frame_id))
    pipe.set(done_key(node_id, frame_id), counts, ex=settings.LFR_EDGE_FRAME_ID_TTL_SECONDS)
    _sample_queue(pipe, deletion_samples_key(deployment_id), [deletion_ms])
    if tracks is not None:
        if tracks.data:
            pipe.set(tracks.key, tracks.data, px=tracks.ttl_ms)
        else:
            pipe.delete(tracks.key)
        if tracks.face_deletions_ms:
            _sample_queue(pipe, tracks.face_deletions_key, tracks.face_deletions_ms)
    if service is not None:
        pipe.set(service_key(service.queue), f"{service.seconds_per_frame:.4f}", ex=SERVICE_TTL_SECONDS)
    if expired:
        pipe.hincrby(EXPIRED_RECENT_KEY, str(deployment_id), 1)
        pipe.expire(EXPIRED_RECENT_KEY, settings.LFR_FRAMES_EXPIRED_ALERT_SECONDS)
    pipe.execute()


def frame_counted(node_id: int, frame_id: str) -> None:
    """The frame's counts are in the database: its done marker no longer carries them."""
    client().set(done_key(node_id, frame_id), COUNTED, ex=settings.LFR_EDGE_FRAME_ID_TTL_SECONDS)


def _sample_queue(pipe, key: str, milliseconds) -> None:
    pipe.lpush(key, *(f"{value:.2f}" for value in milliseconds))
    pipe.ltrim(key, 0, DELETION_SAMPLES_KEPT - 1)
    pipe.expire(key, DELETION_SAMPLES_TTL_SECONDS)


def deletion_samples(deployment_id: int) -> list[float]:
    return [float(v) for v in client().lrange(deletion_samples_key(deployment_id), 0, -1)]


def payload_keys(deployment_id: int | None = None) -> list[tuple[str, int]]:
    """Frame payload keys still in Redis, with their remaining TTL in seconds."""
    pattern = f"{PAYLOAD_PREFIX}{deployment_id}:*" if deployment_id else f"{PAYLOAD_PREFIX}*"
    found = []
    r = client()
    for key in r.scan_iter(match=pattern, count=1000):
        found.append((key.decode(errors="replace"), int(r.ttl(key))))
    return found


def expired_recent() -> dict[int, int]:
    """Deployment id -> accepted frames that expired unprocessed, while expiries go on and for
    LFR_FRAMES_EXPIRED_ALERT_SECONDS after the last."""
    return {int(k): int(v) for k, v in client().hgetall(EXPIRED_RECENT_KEY).items()}


# --- Pipeline problems ------------------------------------------------------------------------


def problem_report(deployment_id: int, problem: str, ttl_seconds: int) -> None:
    """The worker cannot match this deployment's frames, for this reason; forgotten after `ttl_seconds` unless
    reported again (so a problem that went away, with no frame to show it, does not stick)."""
    client().set(problem_key(deployment_id), problem.encode(), ex=ttl_seconds)


def problem_clear(deployment_id: int) -> None:
    client().delete(problem_key(deployment_id))


def problem_reported(deployment_id: int) -> str:
    value = client().get(problem_key(deployment_id))
    return value.decode(errors="replace") if value else ""
