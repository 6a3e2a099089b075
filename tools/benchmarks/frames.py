"""The benchmark's frames: camera-sized frames of one face each, watchlisted or not, in a set share.

No Django import: the engine-alone measurement's spawned processes unpickle these frames before Django is set up.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tools.edge_client import jpeg_encode, on_canvas, read_image_file

# One enrolment photograph per watchlisted person of shared/faces/deepface (person01..07); the photographs
# with several faces are never used.
ENROLMENT = {"person01": "img1.jpg", "person02": "img3.jpg", "person03": "img8.jpg", "person04": "img13.jpg",
             "person05": "img16.jpg", "person06": "img18.jpg", "person07": "img20.jpg"}
MULTI_FACE = {"img31.jpg", "img41.jpg", "img54.jpg", "img59.jpg", "img62.jpg"}


@dataclass
class BenchmarkFrame:
    jpeg: bytes
    watchlisted: bool


def benchmark_frames(faces_dir: Path, size: tuple[int, int], match_share: float) -> list[BenchmarkFrame]:
    """640x360 (or `size`) frames with one face each: photographs not used for enrolment, watchlisted or not."""
    folder = Path(faces_dir) / "deepface"
    with (folder / "identities.csv").open() as fh:
        rows = [(r["file"], r["identity"]) for r in csv.DictReader(fh)]
    usable = [(f, p) for f, p in rows if f not in ENROLMENT.values() and f not in MULTI_FACE]
    matched = [BenchmarkFrame(jpeg_encode(on_canvas(read_image_file(folder / f), *size)), True)
               for f, p in usable if p in ENROLMENT]
    others = [BenchmarkFrame(jpeg_encode(on_canvas(read_image_file(folder / f), *size)), False)
              for f, p in usable if p not in ENROLMENT]
    if match_share >= 1 or not others:
        return matched
    if match_share <= 0 or not matched:
        return others
    # Interleaved so that every stretch of the sequence holds the share (photographs repeat as needed).
    mixed, m, o = [], 0, 0
    for _ in range(max(100, len(matched) + len(others))):
        if m / max(1, m + o) < match_share:
            mixed.append(matched[m % len(matched)])
            m += 1
        else:
            mixed.append(others[o % len(others)])
            o += 1
    return mixed


def crowd_benchmark_frames(faces_dir: Path) -> list[BenchmarkFrame]:
    """The crowd scene (tools/scenes.py: five people walking across a 640x360 view, one entering every 6 frames), in
    capture order; all five are on the benchmark's watchlist (deepface person01 to person05)."""
    from tools.scenes import crowd_scene  # the scene composes with the engine's helpers: loaded only when asked

    return [BenchmarkFrame(jpeg, True) for jpeg in crowd_scene(Path(faces_dir)).jpegs()]
