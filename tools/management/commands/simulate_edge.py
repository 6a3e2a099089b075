"""Acts as an edge node: reads a video or a folder of images and posts its frames in real time.

    python manage.py simulate_edge --url http://127.0.0.1:8000 --token lfr_... --images DIR --fps 5 [--frames 50]
    python manage.py simulate_edge --url ... --token ... --video street.mp4 --fps 5 --camera "north mast"
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tools.edge_client import EdgeAnswer, EdgeClient
from tools.edge_simulator import SourceError, answers_summary, frames_post, image_folder_frames, video_frames
from tools.management import frame_size


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
        try:
            if options["video"]:
                source = video_frames(options["video"], options["fps"])
            else:
                source = image_folder_frames(options["images"], on_skip=lambda path: self.stderr.write(
                    f"skipped {path.name}: not a readable image"))
            client = EdgeClient(options["url"], options["token"], retries=options["retries"])
            self._node_check(client)
            prefix = options["frame_prefix"] or f"{''.join(c if c.isalnum() else '-' for c in options['camera'])}-" \
                                                f"{int(time.time())}"
            answers, elapsed = frames_post(
                client, source, limit=options["frames"], fps=options["fps"], camera=options["camera"], prefix=prefix,
                canvas=canvas, quality=options["quality"], in_flight=options["in_flight"], on_answer=self._answer)
        except SourceError as exc:
            raise CommandError(str(exc))
        self.stdout.write("")
        for line in answers_summary(answers, elapsed):
            self.stdout.write(line)

    def _node_check(self, client: EdgeClient) -> None:
        try:
            code, status = client.status()
        except Exception as exc:
            raise CommandError(f"The server at {client.base} did not answer: {exc.__class__.__name__}.")
        if code != 200:
            raise CommandError(f"The server refused the token: {code} {status.get('detail', '')}")
        reference = (status["deployment"] or {}).get("reference", "none")
        self.stdout.write(f"Node {status['edge_node']}: {'live' if status['live'] else 'NOT live'}, deployment "
                          f"{reference}, server time {status['server_time']}")

    def _answer(self, frame_id: str, answer: EdgeAnswer) -> None:
        retry = f", {answer.attempts} attempts" if answer.attempts > 1 else ""
        self.stdout.write(f"{frame_id}  {answer.status or '---'} {answer.code}"
                          f"{': ' + answer.detail if answer.status != 202 and answer.detail else ''}"
                          f"  ({answer.seconds * 1000:.0f} ms{retry})")
