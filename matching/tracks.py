"""Where a camera's open tracks live between its frames: the non-persistent Redis, under a short TTL.

Track state is biometric data (each open track's best template), so it is never in the database, media, a
temporary file or a persisted queue. The key, ``lfr:tracks:<deployment>:<node>:<camera digest>``, holds the
camera's open tracks (matching/engine/tracking.py, as JSON with no pickle). It is written in the same MULTI that
deletes the frame's payload and marks the frame done (frames.frame_finish), so a frame re-run after a crash starts
from the state before it, never applies itself twice; and it is deleted when the camera's last track ends. It
expires by itself LFR_TRACK_GAP_SECONDS + 1 s after the camera's last processed frame in any case, so a camera
that stops sending leaves nothing behind for longer than a track would have lived.

No ORM here.
"""

from __future__ import annotations

import hashlib
import math

from django.conf import settings

from . import frames

TRACKS_PREFIX = "lfr:tracks:"
FACE_DELETION_PREFIX = "lfr:face-deletion-ms:"


def tracks_key(deployment_id: int, node_id: int, camera: str) -> str:
    # The camera's name is the node's text: digested, so the key holds no free text.
    digest = hashlib.sha256(camera.encode()).hexdigest()[:16]
    return f"{TRACKS_PREFIX}{deployment_id}:{node_id}:{digest}"


def ttl_milliseconds() -> int:
    return int(math.ceil((settings.LFR_TRACK_GAP_SECONDS + 1.0) * 1000))


def face_deletion_key(deployment_id: int) -> str:
    return f"{FACE_DELETION_PREFIX}{deployment_id}"


def face_deletion_samples(deployment_id: int) -> list[float]:
    """Milliseconds from a non-match face's receipt to the end of its track (when its template went)."""
    return [float(v) for v in frames.client().lrange(face_deletion_key(deployment_id), 0, -1)]


def track_keys(deployment_id: int | None = None) -> list[tuple[str, int]]:
    """Track-state keys still in Redis, with their remaining TTL in milliseconds."""
    pattern = f"{TRACKS_PREFIX}{deployment_id}:*" if deployment_id else f"{TRACKS_PREFIX}*"
    client = frames.client()
    return [(key.decode(errors="replace"), int(client.pttl(key))) for key in client.scan_iter(match=pattern, count=1000)]
