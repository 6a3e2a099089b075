"""Acts as an edge node: reads a video or a folder of images and posts its frames in real time.

    python manage.py simulate_edge --url http://127.0.0.1:8000 --token lfr_... --images DIR --fps 5 [--frames 50]
    python manage.py simulate_edge --url ... --token ... --video street.mp4 --fps 5 --camera "north mast"
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
from django.core.management.base import BaseCommand, CommandError

from matching.edge_client import EdgeAnswer, EdgeClient, jpeg_encode, on_canvas, percentile, read_image_file
from matching.management import frame_size

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


class Command(BaseCommand):
    help = "Posts frames from a video or a folder of images to the edge API in real time, as an edge node would."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="The server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--token", required=True, help="The edge node's token.")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--video", type=Path, help="A video file OpenCV can read.")
        source.add_argument("--images", type=Path, help="A folder of JPEG, PNG or WebP images, sent in name order.")
        parser.add_argument("--fps", type=float, required=True, help="Frames per second to send.")
        parser.add_argument("--frames", type=int, help="Send this many frames (the source repeats if shorter).")
        parser.add_argument("--camera", default="camera-1", help="The camera's name on this node.")
        parser.add_argument("--canvas", help="Place each image on a WIDTHxHEIGHT canvas, e.g. 640x360.")
        parser.add_argument("--quality", type=int, default=85, help="JPEG quality of the posted frames.")
        parser.add_argument("--retries", type=int, default=4, help="Retries per frame (with exponential backoff).")
        parser.add_argument("--in-flight", type=int, default=4, help="Frames posted at the same time at most.")
        parser.add_argument("--frame-prefix", help="Frame ids are PREFIX-000001...; default: camera and start time.")

    def handle(self, *args, **options):
        if options["fps"] <= 0:
            raise CommandError("--fps must be above zero.")
        canvas = frame_size(options["canvas"]) if options["canvas"] else None
        if options["video"]:
            source = self._video(options["video"], options["fps"])
        else:
            source = self._images(options["images"])
        client = EdgeClient(options["url"], options["token"], retries=options["retries"])
        try:
            code, status = client.status()
        except Exception as exc:
            raise CommandError(f"The server at {client.base} did not answer: {exc.__class__.__name__}.")
        if code != 200:
            raise CommandError(f"The server refused the token: {code} {status.get('detail', '')}")
        reference = (status["deployment"] or {}).get("reference", "none")
        self.stdout.write(f"Node {status['edge_node']}: {'live' if status['live'] else 'NOT live'}, deployment "
                          f"{reference}, server time {status['server_time']}")
        prefix = options["frame_prefix"] or f"{''.join(c if c.isalnum() else '-' for c in options['camera'])}-" \
                                            f"{int(time.time())}"
        limit, interval = options["frames"], 1.0 / options["fps"]
        answers: list[EdgeAnswer] = []
        lock = threading.Lock()

        def send(jpeg: bytes, frame_id: str) -> None:
            answer = client.post_frame(jpeg, frame_id=frame_id, camera=options["camera"])
            with lock:
                answers.append(answer)
                retry = f", {answer.attempts} attempts" if answer.attempts > 1 else ""
                self.stdout.write(f"{frame_id}  {answer.status or '---'} {answer.code}"
                                  f"{': ' + answer.detail if answer.status != 202 and answer.detail else ''}"
                                  f"  ({answer.seconds * 1000:.0f} ms{retry})")

        started = time.monotonic()
        sent = 0
        with ThreadPoolExecutor(max_workers=max(1, options["in_flight"])) as pool:
            for image in source(limit):
                due = started + sent * interval
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                frame = on_canvas(image, *canvas) if canvas else image
                sent += 1
                pool.submit(send, jpeg_encode(frame, options["quality"]), f"{prefix}-{sent:06d}")
        # The frames span `sent` intervals; the last answer may come a little after the last frame's slot.
        self._summary(answers, max(time.monotonic() - started, sent * interval))

    def _images(self, folder: Path):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise CommandError(f"{folder} holds no JPEG, PNG or WebP images.")

        def frames(limit):
            count = 0
            while limit is None and count < len(paths) or limit is not None and count < limit:
                image = read_image_file(paths[count % len(paths)])
                count += 1
                if image is None:
                    self.stderr.write(f"skipped {paths[(count - 1) % len(paths)].name}: not a readable image")
                    continue
                yield image

        return frames

    def _video(self, path: Path, fps: float):
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")

        def frames(limit):
            count = 0
            while limit is None or count < limit:
                capture = cv2.VideoCapture(str(path))
                if not capture.isOpened():
                    raise CommandError(f"OpenCV cannot read {path}.")
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

    def _summary(self, answers: list[EdgeAnswer], elapsed: float) -> None:
        codes = Counter(a.code for a in answers)
        accepted = sum(1 for a in answers if a.accepted)
        retried = sum(1 for a in answers if a.attempts > 1)
        times = [a.seconds * 1000 for a in answers if a.status is not None]
        self.stdout.write("")
        self.stdout.write(f"Sent {len(answers)} frame(s) in {elapsed:.1f} s "
                          f"({len(answers) / elapsed if elapsed else 0:.1f} frames/s): {accepted} accepted, "
                          f"{len(answers) - accepted} not accepted; {retried} needed a retry.")
        for code, count in sorted(codes.items()):
            self.stdout.write(f"  {code}: {count}")
        if times:
            self.stdout.write(f"Answer time: p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms.")
