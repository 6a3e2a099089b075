"""The run command's demo camera: waits for the demo deployment to go live, then posts frames to it.

Frames are the photographs shipped in the insightface package: the group picture holds the demo
watchlist's faces (alerts on the operator console), the others are passers-by (deleted at once).
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from deployments.models import Deployment
from lfr_governance import clock
from tools.demo import sample_images
from tools.demo.deployment import DEMO_TITLE, stored_demo_token


class Command(BaseCommand):
    help = "Feeds the demo deployment from a simulated edge node once it is live."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True)
        parser.add_argument("--fps", type=float, default=0.5)
        parser.add_argument("--frames", type=int, default=120)
        parser.add_argument("--wait", type=int, default=300, help="Seconds to wait for the deployment to go live.")

    def handle(self, *args, url, fps, frames, wait, **options):
        token = stored_demo_token()
        if not token:
            raise CommandError("No demo edge token is stored: run demo_setup first.")
        deadline = time.monotonic() + wait
        while not Deployment.objects.filter(title=DEMO_TITLE, status="live", ends_at__gt=clock.now()).exists():
            if time.monotonic() > deadline:
                raise CommandError("The demo deployment did not go live in time.")
            time.sleep(5)
        images = sample_images()
        self.stdout.write(f"Demo deployment is live: posting {frames} frames at {fps} per second from {images}")
        call_command("simulate_edge", url=url, token=token, images=images, fps=fps, frames=frames,
                     camera="Market Square mast", canvas="1280x720", stdout=self.stdout)
