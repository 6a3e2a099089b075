"""Which queue a camera's frames go to: one of LFR_FRAME_SHARDS, by a stable hash of (edge node, camera).

Each frames queue has exactly one consumer (a worker process of concurrency 1), so the frames of one camera are
matched one at a time, in the order they were queued, by one process, while cameras spread over the shards and so
over the worker processes and hosts. The hash is CRC-32 (stable across processes and hosts, unlike hash()).
"""

from __future__ import annotations

import zlib

from django.conf import settings


def camera_shard(node_id: int, camera: str, shards: int | None = None) -> int:
    shards = shards or settings.LFR_FRAME_SHARDS
    return zlib.crc32(f"{node_id}\x1f{camera}".encode()) % shards


def frame_queue(node_id: int, camera: str) -> str:
    return f"{settings.FRAME_QUEUE_PREFIX}{camera_shard(node_id, camera)}"


def frame_queues() -> list[str]:
    """Every frames queue, shard 0 first (a worker that serves all of them still takes one frame at a time)."""
    return [f"{settings.FRAME_QUEUE_PREFIX}{shard}" for shard in range(settings.LFR_FRAME_SHARDS)]
