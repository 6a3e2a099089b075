"""manage.py rehearse --references DIR --video FILE [--fps 5] [--k 2] [--threshold T] [--pack P] [--gap-seconds 1.5]

A dry run of the live decision on recorded footage: the same tracker and decision code as the live pipeline
(matching.engine.sightings.frame_track over CameraTracks with a TrackingRule), with no database, web server or
worker, and nothing written anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lfr_governance.faces import get_engine
from matching.engine import EngineError, FaceEngine, Gallery, ImageDecodeError, decode_image
from matching.engine.sightings import frame_sources, frame_track
from matching.engine.tracking import CameraTracks, Confirmed, Sighting, Track, TrackingRule

DEFAULT_FPS = 5.0
MAX_FPS = 60.0
DEFAULT_K = TrackingRule.__dataclass_fields__["confirm_frames"].default
DEFAULT_GAP_SECONDS = TrackingRule.__dataclass_fields__["gap_seconds"].default


@dataclass
class Rehearsed:
    """One alert as the rehearsal saw it: a track that reached k frames for a reference, and its sightings."""

    reference: str
    track: Track
    times: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def line(self) -> str:
        best = max(self.scores) if self.scores else float("nan")
        return (f"ALERT {self.reference}: {len(self.times)} sightings, best score {best:.3f}, "
                f"first seen {clock(min(self.times))}, last seen {clock(max(self.times))}")


def clock(seconds: float) -> str:
    """Video time as mm:ss.s."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest / 10:04.1f}"


class Command(BaseCommand):
    help = (
        "Rehearse a deployment on a video file: run the live pipeline's tracker and decision code "
        "(matching.engine.sightings.frame_track) against a folder of reference images (each image one reference, "
        "named by its file name, through the enrolment quality gate), and print one line per alert and the counts. "
        "No database, web server or worker, and nothing is written anywhere (only loading a model pack for the first "
        "time on a machine fills the engine's hash-checked model cache, as every command does). Each track that reaches k frames at or "
        "above the threshold is one alert: there is no merge window here, so a person who leaves the view for "
        "longer than --gap-seconds and comes back is a new track and a second alert."
    )
    requires_system_checks: list[str] = []  # no checks: they could reach for the database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--references", type=Path, required=True,
                            help="folder of reference images, one reference per image file")
        parser.add_argument("--video", type=Path, required=True, help="a video file OpenCV can read")
        parser.add_argument("--fps", type=float, default=DEFAULT_FPS,
                            help=f"frames per second sampled from the video (default {DEFAULT_FPS:g})")
        parser.add_argument("--k", type=int, default=DEFAULT_K,
                            help=f"frames of a track at or above the threshold to alert (default {DEFAULT_K})")
        parser.add_argument("--threshold", type=float, default=None,
                            help="match threshold (default: the model pack's validated colour threshold, the "
                                 "threshold a deployment gets when none is given; 0.43 for yunet-sface)")
        parser.add_argument("--pack", default=None, help="model pack (default LFR_FACE_PACK)")
        parser.add_argument("--gap-seconds", type=float, default=DEFAULT_GAP_SECONDS,
                            help=f"a track ends when its face is unseen this long (default {DEFAULT_GAP_SECONDS:g})")

    def handle(self, *args: Any, **options: Any) -> None:
        fps = _number(options["fps"], "--fps", above=0, at_most=MAX_FPS)
        gap = _number(options["gap_seconds"], "--gap-seconds", above=0, at_most=60)
        k = options["k"]
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise CommandError(f"--k must be a whole number from 1 to 50, not {k!r}.")
        threshold = options["threshold"]
        if threshold is not None:
            threshold = _number(threshold, "--threshold", above=0, below=1)
        references, video = Path(options["references"]), Path(options["video"])
        files = _reference_files(references)
        capture = _open_video(video)
        try:
            try:
                engine = get_engine(options["pack"])
            except EngineError as exc:
                raise CommandError(str(exc)) from exc
            if threshold is None:  # what a deployment gets when none is given (deployments.services)
                if engine.pack.threshold is None:
                    raise CommandError(f"Model pack {engine.pack.id} has no validated threshold: give --threshold.")
                threshold = _number(engine.pack.threshold, "the pack's threshold", above=0, below=1)
            gallery = self._enrol(engine, files)
            rule = TrackingRule(threshold=threshold, confirm_frames=k, gap_seconds=gap)
            self.stdout.write(f"Rehearsing {video.name} with {engine.pack.id}: threshold {threshold:.2f}, k {k}, "
                              f"{fps:g} frames/s, track gap {gap:g} s")
            self._rehearse(engine, gallery, rule, capture, fps)
        finally:
            capture.release()

    def _enrol(self, engine: FaceEngine, files: list[Path]) -> Gallery:
        templates, labels = [], []
        for path in files:
            try:
                image = decode_image(path.read_bytes())
            except (ImageDecodeError, OSError) as exc:
                self.stdout.write(f"REFUSED {path.name}: unreadable: {exc}")
                continue
            result, template = engine.enrolment_template(image)
            if template is None:
                self.stdout.write(f"REFUSED {path.name}: {result.reason.value}: {result.message}")
                continue
            templates.append(template)
            labels.append(path.name)
        if not labels:
            raise CommandError(f"No reference image in {files[0].parent} passed the quality gate.")
        self.stdout.write(f"References: {len(labels)} accepted ({', '.join(labels)}), "
                          f"{len(files) - len(labels)} refused")
        return Gallery(np.stack(templates), labels)

    def _rehearse(self, engine: FaceEngine, gallery: Gallery, rule: TrackingRule, capture: cv2.VideoCapture,
                  fps: float) -> None:
        tracks = CameraTracks(rule)
        alerts: dict[int, Rehearsed] = {}  # by id() of the track: one alert per confirmed track
        ended: list[Track] = []
        sampled = faces = embedded = 0
        index, previous, next_t = -1, -1.0, None
        source_fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        while capture.grab():
            index += 1
            t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
            if index > 0 and t <= previous and source_fps > 0:  # a container without timestamps
                t = index / source_fps
            previous = t
            if next_t is not None and t < next_t - 1e-3:
                continue
            ok, frame = capture.retrieve()
            if not ok:
                break
            next_t = (next_t if next_t is not None else t) + 1 / fps
            while next_t <= t + 1e-3:
                next_t += 1 / fps
            sampled += 1
            outcome = frame_track(engine, gallery, lambda label: label, tracks, frame_sources(engine, frame),
                                  frame_id=str(index), t=t)
            faces += outcome.faces
            embedded += outcome.embedded
            ended += outcome.ended
            for event in outcome.events:
                self._record(alerts, event.event)
        if sampled == 0:
            raise CommandError("The video has no frame OpenCV can decode.")
        ended += tracks.end_all()
        for alert in sorted(alerts.values(), key=lambda a: (min(a.times), a.reference)):
            self.stdout.write(alert.line())
        unconfirmed = [track for track in ended if not track.confirmed]
        self.stdout.write(
            f"Frames: {sampled}. Tracks: {len(ended)}. Faces: {faces} ({embedded} embedded). Alerts: {len(alerts)}. "
            f"Tracks ended without an alert: {len(unconfirmed)} "
            f"({sum(1 for track in unconfirmed if track.candidate)} candidates not confirmed)."
        )

    @staticmethod
    def _record(alerts: dict[int, Rehearsed], event: Confirmed | Sighting) -> None:
        if isinstance(event, Confirmed):
            alert = alerts[id(event.track)] = Rehearsed(str(event.entry), event.track)
            for hit in event.hits:
                alert.times.append(hit.t)
                alert.scores.append(hit.score)
            return
        alert = alerts[id(event.track)]
        alert.times.append(event.observation.t)
        if event.score is not None:
            alert.scores.append(event.score)


def _number(value: Any, name: str, *, above: float, at_most: float | None = None, below: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CommandError(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(number) or number <= above or (at_most is not None and number > at_most) \
            or (below is not None and number >= below):
        limit = f"at most {at_most:g}" if at_most is not None else f"below {below:g}"
        raise CommandError(f"{name} must be above {above:g} and {limit}, not {value!r}.")
    return number


def _reference_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CommandError(f"References folder {folder} does not exist or is not a folder.")
    files = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise CommandError(f"References folder {folder} holds no image files.")
    return files


def _open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise CommandError(f"Video {path} does not exist or is not a file.")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise CommandError(f"Video {path} cannot be read (not a video OpenCV can decode).")
    return capture
