"""The per-frame counts: the evidence of processing and deletion (counts and timings, never content).

Both run once per frame on the hot path, so each is one raw SQL statement (building the ORM query cost more
CPU than running it). Each is committed asynchronously: `SET LOCAL synchronous_commit` applies to the
statement's own implicit transaction only, so the web and the worker do not wait for the WAL flush. A crash
of PostgreSQL itself (not of the app) can lose the counts of the last fraction of a second, never make them
inconsistent; alerts and audit rows are committed synchronously.
"""

from __future__ import annotations

from django.db import connection

from deployments.models import DeploymentCounters

from .models import DeletionLatencyBucket

DELETION_BUCKETS_MS = (10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 30000, 60000, 2**31 - 1)

_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF;"
_COUNTERS = DeploymentCounters._meta.db_table
_BUCKETS = DeletionLatencyBucket._meta.db_table

_RECEIVED_SQL = f"{_ASYNC_COMMIT} UPDATE {_COUNTERS} SET frames_received = frames_received + %s WHERE deployment_id = %s"

# A frame's counts and its deletion-latency bucket in one statement (one round trip, atomic); no row is written
# for a deployment without counters.
_FINISHED_SQL = f"""
{_ASYNC_COMMIT}
WITH counted AS (
    UPDATE {_COUNTERS} SET
        frames_processed = frames_processed + %(processed)s,
        frames_deleted = frames_deleted + 1,
        frames_expired = frames_expired + %(expired)s,
        faces_detected = faces_detected + %(faces)s,
        templates_compared = templates_compared + %(embeddings)s,
        alerts = alerts + %(alerts)s,
        tracks = tracks + %(tracks)s,
        candidates = candidates + %(candidates)s,
        tracks_alerted = tracks_alerted + %(tracks_alerted)s,
        sightings = sightings + %(sightings)s,
        embeddings = embeddings + %(embeddings)s,
        crops_without_face = crops_without_face + %(crops_without_face)s,
        deletion_ms_total = deletion_ms_total + %(deletion_ms)s,
        deletion_ms_max = GREATEST(deletion_ms_max, %(deletion_ms)s),
        updated_at = NOW()
    WHERE deployment_id = %(deployment)s
    RETURNING deployment_id
)
INSERT INTO {_BUCKETS} (deployment_id, upper_ms, frames)
SELECT deployment_id, %(bucket)s, 1 FROM counted
ON CONFLICT (deployment_id, upper_ms) DO UPDATE SET frames = {_BUCKETS}.frames + 1
"""


def frame_received(deployment_id: int) -> None:
    """One frame admitted, counted before its task is published: a frame the worker can finish (and count
    deleted) has always been counted received first, and one whose count fails is refused, never queued."""
    with connection.cursor() as cursor:
        cursor.execute(_RECEIVED_SQL, [1, deployment_id])


def frame_received_undo(deployment_id: int) -> None:
    """Takes back the count of a frame whose task could not be published (refused 503, nothing queued)."""
    with connection.cursor() as cursor:
        cursor.execute(_RECEIVED_SQL, [-1, deployment_id])


def frame_finished(deployment_id: int, *, processed: bool, faces: int, alerts: int, deletion_ms: float,
                   tracks: int = 0, candidates: int = 0, tracks_alerted: int = 0, sightings: int = 0,
                   embeddings: int | None = None, crops_without_face: int = 0, expired: bool = False) -> None:
    """One frame done with and deleted, `deletion_ms` after its receipt: its faces, the passers-by (tracks) it
    started, the tracks that first reached the threshold in it (candidates), the tracks it confirmed and the
    alerts it made, the sightings it added, the templates it compared (faces its tracks did not carry) and the
    crops an edge node sent in which no face was found (absent from a done marker written before they were
    counted: 0)."""
    bucket = next(upper for upper in DELETION_BUCKETS_MS if deletion_ms <= upper)
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_SQL, {"processed": int(processed), "faces": faces, "alerts": alerts,
                                       "tracks": tracks, "candidates": candidates, "tracks_alerted": tracks_alerted,
                                       "sightings": sightings, "embeddings": faces if embeddings is None else embeddings,
                                       "crops_without_face": crops_without_face, "expired": int(expired),
                                       "deletion_ms": float(deletion_ms), "bucket": bucket,
                                       "deployment": deployment_id})
