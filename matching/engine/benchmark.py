"""Benchmark detection, alignment, embedding and 1:N search per pack, on composed frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import packs
from .config import EngineConfig
from .engine import FaceEngine, load_engine
from .errors import PackError
from .face import Face
from .gallery import Gallery
from .images import decode_image

FRAME_SIZES = ((640, 360), (1280, 720), (1920, 1080))
FACES_PER_FRAME = (1, 5)
GALLERY_SIZES = (1_000, 10_000, 100_000)
FACE_PHOTOS = ("img1.jpg", "img3.jpg", "img7.jpg", "img10.jpg", "img17.jpg")
CANVAS_GREY = 96
DEFAULT_REPEATS = 30


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        values = np.asarray(seconds) * 1000
        return cls(float(np.median(values)), float(np.percentile(values, 95)))

    def __str__(self) -> str:
        return f"{self.median_ms:7.2f} /{self.p95_ms:7.2f}"


def measure(action: Callable[[], Any], repeats: int) -> tuple[Timing, Any]:
    result = action()  # warm-up: first runs allocate and pick kernels
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - start)
    return Timing.of(seconds), result


def compose_frame(photos: Sequence[np.ndarray], size: tuple[int, int], count: int) -> np.ndarray:
    """A plain canvas of size (width, height) with `count` face photos side by side."""
    width, height = size
    frame = np.full((height, width, 3), CANVAS_GREY, dtype=np.uint8)
    slot = width // count
    for index in range(count):
        photo = photos[index % len(photos)]
        scale = min(slot * 0.9 / photo.shape[1], height * 0.9 / photo.shape[0])
        tile = cv2.resize(
            photo, (int(photo.shape[1] * scale), int(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
        top = (height - tile.shape[0]) // 2
        left = index * slot + (slot - tile.shape[1]) // 2
        frame[top : top + tile.shape[0], left : left + tile.shape[1]] = tile
    return frame


def align_all(engine: FaceEngine, frame: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
    return [engine.align(frame, face) for face in faces]


def benchmark_frames(engine: FaceEngine, photos: Sequence[np.ndarray], repeats: int) -> list[dict[str, Any]]:
    rows = []
    for size in FRAME_SIZES:
        for count in FACES_PER_FRAME:
            frame = compose_frame(photos, size, count)
            detect, faces = measure(partial(engine.detect, frame), repeats)
            align, crops = measure(partial(align_all, engine, frame, faces), repeats)
            embed, _ = measure(partial(engine.embed, crops), repeats)
            total, _ = measure(partial(engine.templates, frame), repeats)
            rows.append(
                {
                    "frame": f"{size[0]}x{size[1]}",
                    "faces_placed": count,
                    "faces_found": len(faces),
                    "detect": detect,
                    "align": align,
                    "embed": embed,
                    "total": total,
                    "faces_per_second": len(faces) / (total.median_ms / 1000) if faces else 0.0,
                }
            )
    return rows


def benchmark_search(dim: int, repeats: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for size in GALLERY_SIZES:
        gallery = Gallery(rng.standard_normal((size, dim), dtype=np.float32))
        for probes in (1, 5):
            batch = rng.standard_normal((probes, dim), dtype=np.float32)
            query = batch[0] if probes == 1 else batch
            timing, _ = measure(partial(gallery.search, query, k=5), repeats * 2)
            rows.append({"gallery": size, "dim": dim, "probes": probes, "search": timing})
    return rows


def load_photos(faces_dir: Path) -> list[np.ndarray]:
    folder = Path(faces_dir) / "deepface"
    return [decode_image((folder / name).read_bytes()) for name in FACE_PHOTOS]


def frame_table(pack_id: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"{pack_id}: milliseconds, median / p95",
        f"{'frame':>10} {'faces':>7} {'detect':>16} {'align':>16} {'embed':>16} {'det+align+embed':>16} {'faces/s':>8}",
    ]
    for row in rows:
        lines.append(
            f"{row['frame']:>10} {row['faces_found']:>3}/{row['faces_placed']:<3} {row['detect']!s:>16} "
            f"{row['align']!s:>16} {row['embed']!s:>16} {row['total']!s:>16} {row['faces_per_second']:8.1f}"
        )
    return lines


def search_table(pack_id: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"{pack_id}: exact 1:N search, top-5, milliseconds, median / p95",
        f"{'gallery':>10} {'dim':>5} {'probes':>7} {'search':>16}",
    ]
    lines += [f"{row['gallery']:>10} {row['dim']:>5} {row['probes']:>7} {row['search']!s:>16}" for row in rows]
    return lines


def main(
    *,
    pack_ids: Sequence[str] | None = None,
    repeats: int = DEFAULT_REPEATS,
    faces_dir: Path,
    config: EngineConfig,
    write: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Benchmark each pack (default: every pack that loads here) and print the tables."""
    photos = load_photos(faces_dir)
    results: dict[str, dict[str, Any]] = {}
    for pack_id in pack_ids or packs.available_packs():
        try:
            engine = load_engine(pack_id, config)
        except PackError as exc:
            if pack_ids:
                raise
            write(f"{pack_id}: skipped ({exc})")
            continue
        write(f"{pack_id}: providers {', '.join(engine.providers)}")
        frames = benchmark_frames(engine, photos, repeats)
        for line in frame_table(pack_id, frames):
            write(line)
        searches = benchmark_search(engine.pack.embedding_size, repeats)
        for line in search_table(pack_id, searches):
            write(line)
        results[pack_id] = {"frames": frames, "search": searches}
    return results
