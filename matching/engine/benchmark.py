"""Benchmark detection, alignment, embedding and 1:N search per pack, on composed frames; and whole frames
through tracking (matching.engine.sightings.frame_track) on a crowd walking across a street scene, with and
without the tracks' embedding reuse.

The street scene's composition (a canvas, face photos cut to head-and-shoulders tiles, walks across the view)
lives here, not in tools/, because the engine may import nothing of the project: tools/scenes.py builds its
test footage on these same helpers."""

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
from .sightings import frame_sources, frame_track
from .tracking import CameraTracks, Confirmed, TrackingRule

FRAME_SIZES = ((640, 360), (1280, 720), (1920, 1080))
FACES_PER_FRAME = (1, 5)
GALLERY_SIZES = (1_000, 10_000, 100_000)
FACE_PHOTOS = ("img1.jpg", "img3.jpg", "img7.jpg", "img10.jpg", "img17.jpg")
CANVAS_GREY = 96
DEFAULT_REPEATS = 30

Box = tuple[float, float, float, float]

STREET_SIZE = (640, 360)
CROWD_FPS = 5.0
# Face photos of deepface/identities.csv with each one's face box as the default pack (yunet-sface) finds it in
# the original photo, in that photo's pixels: the composition needs no engine, so the footage is the same wherever
# it is made. The crowd is the first five (five different people); tools/scenes.py uses img6 and img22.
FACE_BOXES: dict[str, Box] = {
    "img6.jpg": (189, 220, 579, 756),  # person01
    "img3.jpg": (468, 331, 1108, 1267),  # person02
    "img8.jpg": (175, 119, 452, 483),  # person03
    "img13.jpg": (785, 185, 1182, 764),  # person04
    "img17.jpg": (371, 93, 582, 385),  # person05
    "img22.jpg": (753, 170, 1031, 553),  # person08
}
CROWD_PHOTOS = ("img6.jpg", "img3.jpg", "img8.jpg", "img13.jpg", "img17.jpg")
CROWD_REFERENCE = "img2.jpg"  # person01 again, another photo: the one crowd member on the benchmark's watchlist
CROWD_GALLERY_SIZE = 1_000
CROWD_THRESHOLD = 0.43  # for a pack with no validated threshold yet: the default pack's


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


def street_canvas(size: tuple[int, int] = STREET_SIZE, seed: int = 0) -> np.ndarray:
    """A street-like background of size (width, height): sky, a row of building fronts with windows, pavement,
    and a little fixed-seed sensor noise."""
    width, height = size
    rng = np.random.default_rng(seed)
    frame = np.empty((height, width, 3), dtype=np.float32)
    horizon, kerb = int(height * 0.22), int(height * 0.78)
    sky = np.linspace(0, 1, horizon, dtype=np.float32)[:, None]
    frame[:horizon] = (np.array([215, 190, 160]) * (1 - sky) + np.array([190, 175, 160]) * sky)[:, None, :]
    frame[horizon:kerb] = (120, 124, 130)
    frame[kerb:] = np.linspace(105, 80, height - kerb, dtype=np.float32)[:, None, None]
    left = 0
    while left < width:
        block = int(rng.integers(70, 150))
        colour = rng.integers(60, 170, size=3).astype(np.float32)
        top = horizon - int(rng.integers(0, horizon // 2))
        frame[top:kerb, left : left + block] = colour
        for wy in range(top + 12, kerb - 40, 36):
            for wx in range(left + 10, min(left + block, width) - 20, 28):
                frame[wy : wy + 18, wx : wx + 14] = colour * 0.55
        left += block + int(rng.integers(4, 16))
    frame += rng.normal(0, 3, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def face_tile(photo: np.ndarray, box: Box, *, side: float = 0.3, top: float = 0.25,
              bottom: float = 0.3) -> tuple[np.ndarray, Box]:
    """A head-and-shoulders tile cut from a photo around its face box (margins as fractions of the box), and the
    face box in the tile's pixels."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    left, upper = max(0, int(x1 - side * w)), max(0, int(y1 - top * h))
    right, lower = min(photo.shape[1], int(x2 + side * w)), min(photo.shape[0], int(y2 + bottom * h))
    return photo[upper:lower, left:right].copy(), (x1 - left, y1 - upper, x2 - left, y2 - upper)


@dataclass(frozen=True)
class Walk:
    """A person walking across the view: visible in frames first..last (inclusive), the face's centre moving in a
    straight line from `start` to `end` (frame pixels) while its width grows (or shrinks) from widths[0] to
    widths[1] pixels."""

    label: str
    tile: np.ndarray
    face: Box  # in the tile's pixels
    first: int
    last: int
    start: tuple[float, float]
    end: tuple[float, float]
    widths: tuple[float, float]

    def visible(self, index: int) -> bool:
        return self.first <= index <= self.last

    def placement(self, index: int) -> tuple[float, float, float]:
        """The face's centre x, y and the tile's scale in frame `index`."""
        f = 0.0 if self.last == self.first else (index - self.first) / (self.last - self.first)
        cx = self.start[0] + f * (self.end[0] - self.start[0])
        cy = self.start[1] + f * (self.end[1] - self.start[1])
        width = self.widths[0] + f * (self.widths[1] - self.widths[0])
        return cx, cy, width / (self.face[2] - self.face[0])

    def face_box(self, index: int) -> Box:
        """Where the face is in frame `index`, in frame pixels (as pasted: the ground truth)."""
        cx, cy, scale = self.placement(index)
        w, h = (self.face[2] - self.face[0]) * scale, (self.face[3] - self.face[1]) * scale
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def paint(canvas: np.ndarray, walks: Sequence[Walk], index: int) -> tuple[np.ndarray, dict[str, Box]]:
    """Frame `index`: the canvas with each walk visible then pasted (later walks on top), and the face box of
    each person shown, by label."""
    frame = canvas.copy()
    shown: dict[str, Box] = {}
    for walk in walks:
        if not walk.visible(index):
            continue
        cx, cy, scale = walk.placement(index)
        size = (max(1, round(walk.tile.shape[1] * scale)), max(1, round(walk.tile.shape[0] * scale)))
        tile = cv2.resize(walk.tile, size, interpolation=cv2.INTER_AREA)
        fx, fy = (walk.face[0] + walk.face[2]) / 2 * scale, (walk.face[1] + walk.face[3]) / 2 * scale
        left, top = round(cx - fx), round(cy - fy)
        x1, y1 = max(0, left), max(0, top)
        x2, y2 = min(frame.shape[1], left + size[0]), min(frame.shape[0], top + size[1])
        if x2 <= x1 or y2 <= y1:
            continue
        frame[y1:y2, x1:x2] = tile[y1 - top : y2 - top, x1 - left : x2 - left]
        shown[walk.label] = walk.face_box(index)
    return frame, shown


def crowd_walks(tiles: Sequence[tuple[str, np.ndarray, Box]], size: tuple[int, int] = STREET_SIZE) -> list[Walk]:
    """Five (or however many tiles are given) people crossing the view in two lanes, the upper one left to right
    and the lower one right to left, one entering every 6 frames, each crossing in 32 frames (6.4 s at 5
    frames/s) and growing from 60 to 72 pixels wide; walkers in one lane keep 12 frames (about 190 pixels)
    apart, so no face hides another."""
    width, height = size
    walks = []
    for n, (label, tile, face) in enumerate(tiles):
        upper = n % 2 == 0
        y = height * (0.3 if upper else 0.72)
        xs = (width * 0.09, width * 0.91) if upper else (width * 0.91, width * 0.09)
        first = 6 * n
        walks.append(Walk(label, tile, face, first, first + 31, (xs[0], y), (xs[1], y), (60.0, 72.0)))
    return walks


def crowd_frames(photos: dict[str, np.ndarray], size: tuple[int, int] = STREET_SIZE,
                 seed: int = 0) -> tuple[list[np.ndarray], list[dict[str, Box]]]:
    """The crowd scene: every frame (BGR) and, per frame, each person's face box by photo name."""
    tiles = [(name, *face_tile(photos[name], FACE_BOXES[name])) for name in photos]
    walks = crowd_walks(tiles, size)
    canvas = street_canvas(size, seed)
    frames, truth = [], []
    for index in range(max(walk.last for walk in walks) + 1):
        frame, shown = paint(canvas, walks, index)
        frames.append(frame)
        truth.append(shown)
    return frames, truth


def load_crowd_photos(faces_dir: Path) -> dict[str, np.ndarray]:
    folder = Path(faces_dir) / "deepface"
    return {name: decode_image((folder / name).read_bytes()) for name in CROWD_PHOTOS}


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


def crowd_gallery(engine: FaceEngine, reference: np.ndarray | None, size: int = CROWD_GALLERY_SIZE,
                  seed: int = 0) -> Gallery:
    """A gallery of `size` random templates and, when it passes the quality gate, one crowd member's reference
    photo (labelled "reference"): one alert per crossing of that person, the rest passers-by."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((size, engine.pack.embedding_size), dtype=np.float32)
    gallery = Gallery(rows, list(range(size)))
    if reference is not None:
        _, template = engine.enrolment_template(reference)
        if template is not None:
            gallery.add(template[None, :], ["reference"])
    return gallery


def crowd_pass(engine: FaceEngine, gallery: Gallery, rule: TrackingRule,
               frames: Sequence[np.ndarray], fps: float = CROWD_FPS) -> dict[str, Any]:
    """The crowd's frames once through detection and tracking, as the live pipeline runs them."""
    tracks = CameraTracks(rule)
    seconds, faces, embedded, alerts = [], 0, 0, 0
    for index, frame in enumerate(frames):
        start = time.perf_counter()
        outcome = frame_track(engine, gallery, lambda label: label, tracks, frame_sources(engine, frame),
                              frame_id=str(index), t=index / fps)
        seconds.append(time.perf_counter() - start)
        faces += outcome.faces
        embedded += outcome.embedded
        alerts += sum(1 for event in outcome.events if isinstance(event.event, Confirmed))
    return {"seconds": seconds, "faces": faces, "embedded": embedded, "alerts": alerts}


def benchmark_crowd(engine: FaceEngine, frames: Sequence[np.ndarray], gallery: Gallery, passes: int,
                    threshold: float) -> list[dict[str, Any]]:
    """Frames per second and embeddings per frame on the crowd, embedding every face (reembed_every=1, no
    quality test) and with the tracks' reuse (the default TrackingRule)."""
    modes = (
        ("every face", TrackingRule(threshold=threshold, reembed_every=1, quality_gain=0.0)),
        ("track reuse", TrackingRule(threshold=threshold)),
    )
    crowd_pass(engine, gallery, modes[1][1], frames[:2])  # warm-up
    rows = []
    for mode, rule in modes:
        runs = [crowd_pass(engine, gallery, rule, frames) for _ in range(max(1, passes))]
        seconds = [s for run in runs for s in run["seconds"]]
        run = runs[-1]
        rows.append({
            "mode": mode, "frames": len(frames), "faces": run["faces"], "embedded": run["embedded"],
            "alerts": run["alerts"], "frame": Timing.of(seconds),
            "frames_per_second": len(seconds) / sum(seconds),
            "faces_per_frame": run["faces"] / len(frames), "embeddings_per_frame": run["embedded"] / len(frames),
        })
    return rows


def crowd_table(pack_id: str, rows: Sequence[dict[str, Any]], people: int, size: tuple[int, int],
                gallery: int) -> list[str]:
    frames = rows[0]["frames"] if rows else 0
    lines = [
        f"{pack_id}: crowd, {people} people crossing {frames} frames of {size[0]}x{size[1]} at {CROWD_FPS:g} "
        f"frames/s, through frame_track (detect, track, embed, search {gallery}); milliseconds per frame, "
        "median / p95",
        f"{'mode':>12} {'faces/frame':>12} {'embeddings/frame':>17} {'frame':>16} {'frames/s':>9} {'alerts':>7}",
    ]
    for row in rows:
        lines.append(
            f"{row['mode']:>12} {row['faces_per_frame']:12.2f} {row['embeddings_per_frame']:17.2f} "
            f"{row['frame']!s:>16} {row['frames_per_second']:9.1f} {row['alerts']:>7}"
        )
    return lines


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
    crowd_scene, _ = crowd_frames(load_crowd_photos(faces_dir))
    crowd_reference = decode_image((Path(faces_dir) / "deepface" / CROWD_REFERENCE).read_bytes())
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
        gallery = crowd_gallery(engine, crowd_reference)
        crowd = benchmark_crowd(engine, crowd_scene, gallery, max(1, repeats // 10),
                                engine.pack.threshold or CROWD_THRESHOLD)
        for line in crowd_table(pack_id, crowd, len(CROWD_PHOTOS), STREET_SIZE, len(gallery)):
            write(line)
        results[pack_id] = {"frames": frames, "search": searches, "crowd": crowd}
    return results
