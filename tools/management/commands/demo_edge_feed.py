"""The run command's demo camera: waits for the demo deployment to go live, then shows people passing its camera.

Frames are the photographs shipped in the insightface package: the group picture holds the demo watchlist's faces
(one alert per person on the operator console, each appearance), the others are passers-by (deleted at once).
Each photograph is one appearance: a burst of frames a moment apart (5 frames/s, the picture drifting a few pixels
as people do), so the tracker sees each person as one passer-by and the deployment's rule (k frames) can confirm
them. Appearances follow one another after a pause, in a loop, for as long as the demo deployment is live, so a
newcomer who signs in later still sees an alert arrive; a pass through every photograph takes longer than the
alert merge window, so each pass makes new alerts rather than joining the last ones.
"""

import secrets
import time
from pathlib import Path

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError

from deployments.models import Deployment
from lfr_governance import clock
from tools.demo import sample_images
from tools.demo.deployment import DEMO_TITLE, stored_demo_token
from tools.edge_client import EdgeClient, jpeg_encode, on_canvas, read_image_file

CAMERA = "Market Square mast"
CANVAS = (1920, 1080)


def _live() -> bool:
    return Deployment.objects.filter(title=DEMO_TITLE, status="live", ends_at__gt=clock.now()).exists()


def appearance_frames(image: np.ndarray, burst: int, drift: int = 4) -> list[bytes]:
    """One appearance: the picture on the camera's canvas, drifting `drift` pixels to the right per frame."""
    canvas = on_canvas(image, *CANVAS)
    frames = []
    for step in range(burst):
        shift = np.float32([[1, 0, step * drift], [0, 1, 0]])
        frames.append(jpeg_encode(cv2.warpAffine(canvas, shift, CANVAS, borderValue=(96, 96, 96))))
    return frames


class Command(BaseCommand):
    help = ("Feeds the demo deployment from a simulated edge node while it is live: each photograph is one "
            "appearance of the people in it (a burst of frames), in a loop.")

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True)
        parser.add_argument("--fps", type=float, default=5.0, help="Frames per second within an appearance.")
        parser.add_argument("--burst", type=int, default=8, help="Frames per appearance.")
        parser.add_argument("--pause", type=float, default=20.0, help="Seconds between appearances.")
        parser.add_argument("--cycles", type=int, default=0,
                            help="Passes through the photographs (0: for as long as the deployment is live).")
        parser.add_argument("--wait", type=int, default=300, help="Seconds to wait for the deployment to go live.")
        parser.add_argument("--images", type=Path, default=None, help="A folder of photographs (default: the demo's).")

    def handle(self, *args, url, fps, burst, pause, cycles, wait, images, **options):
        if not (0 < fps <= 10) or not (1 <= burst <= 100) or not (0 <= pause <= 3600) or cycles < 0:
            raise CommandError("--fps must be above 0 and at most 10, --burst 1 to 100, --pause 0 to 3600 seconds "
                               "and --cycles 0 or more.")
        token = stored_demo_token()
        if not token:
            raise CommandError("No demo edge token is stored: run demo_setup first.")
        folder = images or sample_images()
        photos = [(path.name, read_image_file(path)) for path in sorted(folder.iterdir()) if path.is_file()]
        photos = [(name, image) for name, image in photos if image is not None]
        if not photos:
            raise CommandError(f"No readable photographs in {folder}.")
        deadline = time.monotonic() + wait
        while not _live():
            if time.monotonic() > deadline:
                raise CommandError("The demo deployment did not go live in time.")
            time.sleep(5)
        client = EdgeClient(url, token)
        run = secrets.token_hex(3)
        self.stdout.write(f"Demo deployment is live: {len(photos)} photographs from {folder}, each an appearance of "
                          f"{burst} frames at {fps:g}/s, {pause:g} s apart, "
                          + (f"{cycles} pass(es)" if cycles else "while the deployment is live"))
        sent = 0
        cycle = 0
        while cycles == 0 or cycle < cycles:
            cycle += 1
            for name, image in photos:
                if not _live():
                    self.stdout.write(f"The demo deployment is no longer live: stopped after {sent} frame(s).")
                    return
                for number, jpeg in enumerate(appearance_frames(image, burst)):
                    started = time.monotonic()
                    answer = client.post_frame(jpeg, frame_id=f"demo-{run}-{sent:06d}", camera=CAMERA)
                    sent += 1
                    if number == 0:
                        self.stdout.write(f"{name}: {answer.status} {answer.code}")
                    time.sleep(max(0.0, 1 / fps - (time.monotonic() - started)))
                time.sleep(pause)
        self.stdout.write(f"Sent {sent} frame(s) in {cycle} pass(es).")
