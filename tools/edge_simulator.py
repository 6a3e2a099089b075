"""The edge simulator: frames from a video or a folder of images, posted in real time as an edge node would.

What simulate_edge (and through it the demo camera) runs: a frame source, a paced sender with a few frames in
flight, and a summary of the answers.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from tools.edge_client import EdgeAnswer, EdgeClient, jpeg_encode, on_canvas, percentile, read_image_file

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}

# A frame source: given how many frames to give (None: the source once through), the frames as BGR arrays.
FrameSource = Callable[[int | None], Iterator[np.ndarray]]


class SourceError(ValueError):
    """The video or folder cannot be read; the message says which and why."""


def image_folder_frames(folder: Path, on_skip: Callable[[Path], None]) -> FrameSource:
    """The folder's images in name order, repeated to make up a limit; unreadable files are skipped."""
    if not folder.is_dir():
        raise SourceError(f"{folder} is not a folder.")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(f"{folder} holds no JPEG, PNG or WebP images.")

    def frames(limit):
        count = 0
        while limit is None and count < len(paths) or limit is not None and count < limit:
            image = read_image_file(paths[count % len(paths)])
            count += 1
            if image is None:
                on_skip(paths[(count - 1) % len(paths)])
                continue
            yield image

    return frames


def video_frames(path: Path, fps: float) -> FrameSource:
    """The video's frames picked at `fps`, the video restarting to make up a limit."""
    if not path.is_file():
        raise SourceError(f"{path} is not a file.")

    def frames(limit):
        count = 0
        while limit is None or count < limit:
            capture = cv2.VideoCapture(str(path))
            if not capture.isOpened():
                raise SourceError(f"OpenCV cannot read {path}.")
            video_fps = capture.get(cv2.CAP_PROP_FPS) or 0
            step = max(1.0, video_fps / fps) if video_fps > 0 else 1.0
            index, next_pick, any_read = 0, 0.0, False
            while limit is None or count < limit:
                ok, image = capture.read()
                if not ok:
                    break
                any_read = True
                if index >= next_pick:
                    next_pick += step
                    count += 1
                    yield image
                index += 1
            capture.release()
            if limit is None or not any_read:
                return

    return frames


DROPPED_AT_NODE = "dropped_at_node"  # never sent: the node's buffer was full while the server asked it to hold back


def frames_post(client: EdgeClient, source: FrameSource, *, limit: int | None, fps: float, camera: str,
                prefix: str, canvas: tuple[int, int] | None, quality: int, in_flight: int,
                on_answer: Callable[[str, EdgeAnswer], None],
                buffer_seconds: float = 2.0) -> tuple[list[EdgeAnswer], float]:
    """Posts the source's frames at `fps` as PREFIX-000001...; (the answers, the seconds the frames spanned).
    `on_answer` is called for each answer as it comes, one at a time.

    As a camera node: frames wait in a bounded buffer in memory (`buffer_seconds` of frames) and go out in capture
    order; while the server says its workers are behind (503 `busy`, Retry-After) nothing is sent, and when the
    buffer is full its oldest frame is dropped (answered DROPPED_AT_NODE), so what is sent after the pause is the
    newest."""
    interval = 1.0 / fps
    answers: list[EdgeAnswer] = []
    lock = threading.Condition()
    buffer: deque[tuple[bytes, str]] = deque()
    capacity = max(1, int(round(fps * buffer_seconds)))
    finished = threading.Event()

    def answered(frame_id: str, answer: EdgeAnswer) -> None:
        with lock:
            answers.append(answer)
            on_answer(frame_id, answer)

    def sender() -> None:
        while True:
            with lock:
                while not buffer and not finished.is_set():
                    lock.wait(0.1)
                if not buffer:
                    return
                held = client.backoff_remaining()
                if held <= 0:
                    jpeg, frame_id = buffer.popleft()
            if held > 0:
                time.sleep(min(held, 0.05))
                continue
            answered(frame_id, client.post_frame(jpeg, frame_id=frame_id, camera=camera))

    started = time.monotonic()
    sent = 0
    senders = [threading.Thread(target=sender, daemon=True) for _ in range(max(1, in_flight))]
    for thread in senders:
        thread.start()
    try:
        for image in source(limit):
            due = started + sent * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            frame = on_canvas(image, *canvas) if canvas else image
            sent += 1
            frame_id = f"{prefix}-{sent:06d}"
            jpeg = jpeg_encode(frame, quality)
            with lock:
                if len(buffer) >= capacity:  # full while held back: the oldest goes, never to disk
                    _, dropped = buffer.popleft()
                    answers.append(EdgeAnswer(dropped, None, DROPPED_AT_NODE, "the node's buffer was full while "
                                              "the server asked it to hold back", 0, 0.0, time.time()))
                    on_answer(dropped, answers[-1])
                buffer.append((jpeg, frame_id))
                lock.notify()
    finally:
        finished.set()
        for thread in senders:
            thread.join()
    # The frames span `sent` intervals; the last answer may come a little after the last frame's slot.
    return answers, max(time.monotonic() - started, sent * interval)


def answers_summary(answers: list[EdgeAnswer], elapsed: float) -> list[str]:
    codes = Counter(a.code for a in answers)
    accepted = sum(1 for a in answers if a.accepted)
    retried = sum(1 for a in answers if a.attempts > 1)
    times = [a.seconds * 1000 for a in answers if a.status is not None]
    lines = [f"Sent {len(answers)} frame(s) in {elapsed:.1f} s "
             f"({len(answers) / elapsed if elapsed else 0:.1f} frames/s): {accepted} accepted, "
             f"{len(answers) - accepted} not accepted; {retried} needed a retry."]
    lines += [f"  {code}: {count}" for code, count in sorted(codes.items())]
    if times:
        lines.append(f"Answer time: p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms.")
    return lines
