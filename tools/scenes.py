"""Synthetic test footage from the shared face images: a street scene with people walking across it.

Deterministic (fixed seed, no engine needed to make it) and settings-free: the folder holding deepface/ is a
parameter. The composition itself (canvas, head-and-shoulders tiles, walks) is the engine benchmark's
(matching/engine/benchmark.py), so the benchmark's crowd and these scenes are one piece of code.

`watchlist_scene`: a watchlisted person (deepface person01, photo img6.jpg) and a stranger (person08, img22.jpg)
walking across a 640x360 view at 5 frames/s, both in view at once for part of it, then the watchlisted person
again after a gap. Their reference photo is a different one of the same person (img2.jpg); img34.jpg (person12)
is a reference of someone who is not in the footage. Measured with the default pack (yunet-sface), in the frames
and again after the round trip through write_video's Motion-JPEG: every pasted face is detected, with no other
detection; the watchlisted face scores 0.82 to 0.89 against img2.jpg in every frame (the default deployment
threshold is 0.43), the stranger 0.06 to 0.19, and neither above 0.21 against img34.jpg.

`crowd_scene`: five different people crossing the view (the benchmark's crowd).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from matching.engine import decode_image
from matching.engine.benchmark import (
    FACE_BOXES,
    STREET_SIZE,
    Box,
    Walk,
    crowd_frames,
    face_tile,
    load_crowd_photos,
    paint,
    street_canvas,
)

FPS = 5.0
SEED = 7
WATCHLISTED = "watchlisted"
STRANGER = "stranger"
WATCHLISTED_IMAGE = "img6.jpg"  # person01, in the footage
REFERENCE_IMAGE = "img2.jpg"  # person01, another photo: the watchlist's reference
STRANGER_IMAGE = "img22.jpg"  # person08, in the footage, on no watchlist
ABSENT_REFERENCE_IMAGE = "img34.jpg"  # person12, a reference of someone not in the footage
FIRST_APPEARANCE = 18  # frames (3.6 s)
STRANGER_FIRST, STRANGER_LAST = 6, 29
SECOND_APPEARANCE = 15  # frames (3.0 s)
DEFAULT_GAP_SECONDS = 3.0
FOURCC = "MJPG"  # written and read back by this OpenCV's FFmpeg backend, in an .avi


@dataclass
class Scene:
    """Frames (BGR), their times (seconds from the start) and the ground truth: per frame, the face box of each
    person shown, by label."""

    frames: list[np.ndarray]
    times: list[float]
    truth: list[dict[str, Box]]
    fps: float
    images: dict[str, str] = field(default_factory=dict)  # label -> the photo it was cut from

    def __len__(self) -> int:
        return len(self.frames)

    def frames_showing(self, label: str) -> list[int]:
        return [index for index, shown in enumerate(self.truth) if label in shown]

    def appearances(self, label: str) -> list[tuple[int, int]]:
        """Runs of consecutive frames showing `label`: (first, last) frame indices."""
        runs: list[tuple[int, int]] = []
        for index in self.frames_showing(label):
            if runs and runs[-1][1] == index - 1:
                runs[-1] = (runs[-1][0], index)
            else:
                runs.append((index, index))
        return runs

    def jpegs(self, quality: int = 90) -> list[bytes]:
        return [_jpeg(frame, quality) for frame in self.frames]


def _jpeg(frame: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def _tile(faces_dir: Path, name: str) -> tuple[np.ndarray, Box]:
    photo = decode_image((Path(faces_dir) / "deepface" / name).read_bytes())
    return face_tile(photo, FACE_BOXES[name])


def watchlist_scene(faces_dir: Path, *, gap_seconds: float = DEFAULT_GAP_SECONDS, fps: float = FPS,
                    seed: int = SEED) -> Scene:
    """The watchlisted person and a stranger, then the watchlisted person again after `gap_seconds`.

    Frame indices (at 5 frames/s and the default 3 s gap: 47 frames, 0.0 s to 9.2 s), face centres in pixels of
    the 640x360 view:
      watchlisted  0-17   upper lane (y 108), left to right (x 77 to 397), face 64 to 96 px wide (approaching)
      stranger     6-29   lower lane (y 266), right to left (x 563 to 128), face 80 to 60 px wide (walking away)
                          (both in view in frames 6-17)
      watchlisted  32-46  lower lane (y 259), right to left (x 538 to 160), face 90 to 66 px wide

    `gap_seconds` is the frame time from the last frame of the first appearance to the first frame of the second
    (rounded to whole frames, at least one): longer than the tracker's gap (1.5 s by default), the second
    appearance is a new track. The stranger's walk is fixed in frame numbers.
    """
    if not 0 < gap_seconds <= 60:
        raise ValueError("gap_seconds must be above 0 and at most 60")
    width, height = STREET_SIZE
    watchlisted, watchlisted_face = _tile(faces_dir, WATCHLISTED_IMAGE)
    stranger, stranger_face = _tile(faces_dir, STRANGER_IMAGE)
    second = FIRST_APPEARANCE - 1 + max(1, round(gap_seconds * fps))
    walks = [
        Walk(WATCHLISTED, watchlisted, watchlisted_face, 0, FIRST_APPEARANCE - 1,
             (width * 0.12, height * 0.30), (width * 0.62, height * 0.30), (64.0, 96.0)),
        Walk(STRANGER, stranger, stranger_face, STRANGER_FIRST, STRANGER_LAST,
             (width * 0.88, height * 0.74), (width * 0.20, height * 0.74), (80.0, 60.0)),
        Walk(WATCHLISTED, watchlisted, watchlisted_face, second, second + SECOND_APPEARANCE - 1,
             (width * 0.84, height * 0.72), (width * 0.25, height * 0.72), (90.0, 66.0)),
    ]
    count = max(walk.last for walk in walks) + 1
    return _render(walks, count, fps, seed, {WATCHLISTED: WATCHLISTED_IMAGE, STRANGER: STRANGER_IMAGE})


def crowd_scene(faces_dir: Path, *, fps: float = FPS, seed: int = SEED) -> Scene:
    """Five different people (deepface person01 to person05) crossing the view in two lanes, one entering every
    6 frames (56 frames); labelled by the photo each was cut from. The engine benchmark's crowd."""
    frames, truth = crowd_frames(load_crowd_photos(faces_dir), STREET_SIZE, seed)
    labels = {name: name for shown in truth for name in shown}
    return Scene(frames, [index / fps for index in range(len(frames))], truth, fps, labels)


def _render(walks: Sequence[Walk], count: int, fps: float, seed: int, images: dict[str, str]) -> Scene:
    canvas = street_canvas(STREET_SIZE, seed)
    frames, truth = [], []
    for index in range(count):
        frame, shown = paint(canvas, walks, index)
        frames.append(frame)
        truth.append(shown)
    return Scene(frames, [index / fps for index in range(count)], truth, fps, images)


def write_video(frames: Sequence[np.ndarray], path: Path, fps: float = FPS) -> Path:
    """The frames as a Motion-JPEG .avi that OpenCV reads back (cv2.VideoCapture)."""
    if not frames:
        raise ValueError("no frames to write")
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {FOURCC} video to {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return Path(path)


def read_video(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of a video and its time (seconds, the video's own position), for checking footage."""
    capture = cv2.VideoCapture(str(path))
    frames, times = [], []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
            times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    finally:
        capture.release()
    return frames, times
