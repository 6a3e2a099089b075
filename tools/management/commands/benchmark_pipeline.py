"""Benchmarks the running system end to end through the edge API (not a test: it prints measurements).

    python manage.py benchmark_pipeline --url http://127.0.0.1:8000 --setup --nodes 1 --fps 5 --duration 60
    python manage.py benchmark_pipeline --url http://127.0.0.1:8000 --token lfr_... --fps 5 --duration 60
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deployments.models import Deployment
from deployments.selectors import edge_node_for_token_with_live
from tools.benchmarks import pipeline as bench
from tools.benchmarks.engine_alone import engine_throughput
from tools.benchmarks.frames import benchmark_frames, crowd_benchmark_frames
from tools.management import frame_size


class Command(BaseCommand):
    help = ("Posts frames from simulated edge nodes at a set rate for a set time against the running system and "
            "prints frames/s accepted and processed, POST-to-alert latency, deletion latency, worker memory and "
            "end-to-end throughput against the engine's own.")

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="The running server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--token", action="append", default=[], dest="tokens",
                            help="An edge node's token (repeat for several nodes); their live deployment is used.")
        parser.add_argument("--setup", action="store_true",
                            help="Create a live deployment with its own watchlist and --nodes edge nodes first.")
        parser.add_argument("--nodes", type=int, default=1, help="Edge nodes to set up (with --setup).")
        parser.add_argument("--fps", type=float, default=5.0, help="Frames per second per node.")
        parser.add_argument("--duration", type=float, default=30.0, help="Seconds of load.")
        parser.add_argument("--size", default="640x360", help="Frame size, WIDTHxHEIGHT.")
        parser.add_argument("--match-share", type=float, default=0.5,
                            help="Share of frames showing a watchlisted person (each makes an alert).")
        parser.add_argument("--scene", choices=["photos", "crowd"], default="photos",
                            help="photos: one photograph per frame, each its own passer-by (the per-frame path at its "
                                 "heaviest); crowd: each node's camera shows five people walking across the view, "
                                 "in a loop (tracking, one alert per person, track reuse; with --setup two of the five are on the watchlist).")
        parser.add_argument("--warmup", type=int, default=3, help="Frames per node sent first and not measured.")
        parser.add_argument("--in-flight", type=int, default=4, help="Concurrent POSTs per node at most.")
        parser.add_argument("--drain-timeout", type=float, default=120.0,
                            help="Seconds to wait for the worker to finish after sending stops.")
        parser.add_argument("--engine-frames", type=int, default=200,
                            help="Frames for the engine-alone measurement.")
        parser.add_argument("--engine-rounds", type=int, default=3,
                            help="Rounds of the engine-alone measurement; the best is kept.")
        parser.add_argument("--engine-processes", type=int, default=0,
                            help="Engine processes (one ONNX thread each) for the all-cores engine measurement "
                                 "(default: as many as the worker has pool processes; 1 skips it).")
        parser.add_argument("--worker-match", default=bench.PROCESS_MATCH["worker"],
                            help="Text in the command line of the worker processes to measure (e.g. their --hostname).")
        parser.add_argument("--web-match", default=bench.PROCESS_MATCH["web"],
                            help="Text in the command line of the web server processes.")
        parser.add_argument("--faces-dir", type=Path, default=None, help="Folder holding deepface/ (LFR_FACES_DIR).")

    def handle(self, *args, **options):
        faces_dir = options["faces_dir"] or Path(settings.LFR_FACES_DIR)
        if not (faces_dir / "deepface" / "identities.csv").exists():
            raise CommandError(f"No face images at {faces_dir}: give --faces-dir, the folder holding deepface/.")
        size = frame_size(options["size"])
        bench.PROCESS_MATCH.update(worker=options["worker_match"], web=options["web_match"])
        if options["setup"]:
            deployment, tokens = bench.benchmark_deployment_setup(
                faces_dir=faces_dir, nodes=options["nodes"], stdout=self.stdout.write,
                enrol=bench.CROWD_WATCHLISTED if options["scene"] == "crowd" else None)
        else:
            tokens = options["tokens"]
            if not tokens:
                raise CommandError("Give --token (one per node) or --setup.")
            found = [edge_node_for_token_with_live(token=token) for token in tokens]
            if any(node is None for node, _ in found):
                raise CommandError("A token is unknown or revoked.")
            deployments = {getattr(live, "pk", None) for _, live in found}
            if None in deployments or len(deployments) != 1:
                raise CommandError("Every node must be bound to the same live deployment.")
            deployment = Deployment.objects.get(pk=deployments.pop())
        scene = options["scene"]
        frames = crowd_benchmark_frames(faces_dir) if scene == "crowd" else benchmark_frames(
            faces_dir, size, options["match_share"])
        self.stdout.write(f"Deployment {deployment.pk}: {len(tokens)} node(s) x {options['fps']:g} frames/s for "
                          f"{options['duration']:g} s against {options['url']} ({len(frames)} distinct frames)...")
        result = bench.run_load(
            url=options["url"], tokens=tokens, deployment_id=deployment.pk, frames=frames, fps=options["fps"],
            duration=options["duration"], warmup=options["warmup"], in_flight=options["in_flight"],
            drain_timeout=options["drain_timeout"], scene=scene,
        )
        workers = settings.LFR_FRAME_SHARDS  # one frames worker process (of concurrency 1) per shard
        pack_id, gallery, threshold = bench.deployment_gallery(deployment.pk)
        engine, engine_parallel = engine_throughput(frames, pack_id=pack_id, gallery=gallery, threshold=threshold,
                                                    count=options["engine_frames"],
                                                    processes=options["engine_processes"] or workers,
                                                    rounds=max(1, options["engine_rounds"]))
        bench.report(result, fps=options["fps"], nodes=len(tokens), duration=options["duration"], engine=engine,
                     engine_parallel=engine_parallel, size=size, write=self.stdout.write, scene=scene)
