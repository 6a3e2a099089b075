"""benchmark_pipeline: load the running system through the edge API and measure what an operator and the
DPO care about: frames accepted and processed per second, POST-to-alert latency, deletion latency, worker
memory, and end-to-end throughput against the engine's own on the same frames.

Runs against a live server (web, Celery worker, Redis, PostgreSQL) whose database this process also reaches
(DATABASE_URL): it reads the deployment's counters and alerts there, and can set up its own deployment.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psutil
import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.db import close_old_connections, connection

from deployments import services as dep
from deployments.models import Deployment, DeploymentCounters
from lfr_governance import clock
from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.services import team_get_or_create, user_create
from matching import frames as frame_store
from matching import tracks as track_store
from matching.engine import Gallery
from matching.pipeline import gallery_build
from tools.edge_client import EdgeAnswer, EdgeClient, percentile
from tools.edge_simulator import DROPPED_AT_NODE
from watchlists import services as wl

from .engine_alone import EngineRun
from .frames import ENROLMENT, BenchmarkFrame

# yunet-sface's threshold before thresholds followed from a target: every watchlisted shared photograph scores above
# it and no other shared person does, so the benchmark's expected alerts are exact.
BENCHMARK_THRESHOLD = 0.43


# --- Setting up a deployment of its own -------------------------------------------------------


# The crowd scene's people on the watchlist (the other three are strangers: their tracks are ruled out and deleted).
CROWD_WATCHLISTED = ("person01", "person02")


def benchmark_deployment_setup(*, faces_dir: Path, nodes: int, stdout=print, enrol=None):
    """A live deployment over a frozen watchlist of the seven (or those of them named in `enrol`), with `nodes` edge
    nodes: (deployment, tokens)."""
    run = clock.now().strftime("%Y%m%d-%H%M%S")
    team = team_get_or_create(name="Benchmark unit")
    people = {}
    for key, role, rank in (("intel", Role.INTELLIGENCE_OFFICER, Rank.CONSTABLE), ("reviewer", Role.REVIEWER,
                            Rank.SERGEANT), ("ao", Role.AUTHORISING_OFFICER, Rank.SUPERINTENDENT),
                            ("admin", Role.ADMINISTRATOR, Rank.CIVILIAN), ("operator", Role.OPERATOR, Rank.CONSTABLE)):
        username = f"bench-{key}"
        people[key] = User.objects.filter(username=username).first() or user_create(
            username=username, password=secrets.token_urlsafe(18), roles=[role], rank=rank, team=team)
    watchlist = wl.watchlist_create(actor=people["intel"], operation_name=f"Benchmark {run}",
                                    objective="Pipeline benchmark", intelligence_case_ref=f"BENCH/{run}")
    wl.watchlist_reviewer_assign(actor=people["intel"], watchlist=watchlist, reviewer=people["reviewer"])
    folder = Path(faces_dir) / "deepface"
    for person, image in ENROLMENT.items():
        if enrol is not None and person not in enrol:
            continue
        entry = wl.entry_create(actor=people["intel"], watchlist=watchlist, subject_ref=f"BENCH-{person}",
                                category="warrant", offence="", legal_basis="pace_custody", image_source="custody",
                                image_capture_date=date(2025, 1, 1), intelligence_ref=f"BENCH/{person}",
                                justification="Benchmark subject.")
        img = wl.reference_image_add(actor=people["intel"], entry=entry, data=(folder / image).read_bytes(),
                                     filename=image)
        wl.reference_image_assess(image_id=img.pk)
        wl.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    version = wl.watchlist_freeze(actor=people["intel"], watchlist=watchlist)
    edge_nodes, tokens = [], []
    for number in range(1, nodes + 1):
        node, token = dep.edge_node_register(actor=people["admin"], name=f"bench-{run}-{number}",
                                             camera_description="Benchmark camera")
        edge_nodes.append(node)
        tokens.append(token)
    start = clock.now() - timedelta(minutes=1)
    deployment = dep.deployment_create(
        actor=people["intel"], watchlist_version=version, edge_nodes=edge_nodes, starts_at=start,
        ends_at=start + timedelta(hours=3), title=f"Benchmark {run}", purpose="Pipeline benchmark",
        offence_focus="None (benchmark)", intelligence_case_ref=f"BENCH/{run}", location_name="Benchmark",
        latitude=Decimal("51.5"), longitude=Decimal("-0.1"), area_radius_m=100, location_reason="Benchmark",
        expected_footfall=1000, necessity_proportionality="Benchmark only.", dpia_ref="BENCH",
        community_impact="None", public_prenotice="None",
        # Each benchmark frame is its own passer-by (one photograph, on a camera of its own: see run_load), so the
        # deployment alerts on one frame (k = 1): this measures the per-frame path at its heaviest (no track
        # reuse); benchmark_engine measures tracking on crowd frames.
        confirmation_frames=1,
        # A throughput benchmark counts an alert for every watchlisted photograph, so its thresholds sit below the
        # proposals (set for a target of false alerts per passer-by, which a benchmark does not measure).
        threshold=BENCHMARK_THRESHOLD, threshold_greyscale=BENCHMARK_THRESHOLD,
        threshold_justification="Benchmark only: every watchlisted photograph must alert; no public is filmed.")
    dep.deployment_submit(actor=people["intel"], deployment=deployment, authorising_officer=people["ao"])
    dep.deployment_authorise(actor=people["ao"], deployment=deployment, reasons="Benchmark.")
    deployment.refresh_from_db()
    dep.deployment_schedule(actor=people["intel"], deployment=deployment)
    dep.signage_record_add(actor=people["intel"], deployment=deployment, position_description="Benchmark",
                           latitude=Decimal("51.5"), longitude=Decimal("-0.1"), size="A1", placed_at=start)
    deployment = dep.deployment_go_live(deployment=deployment)
    dep.operator_assign(actor=people["intel"], deployment=deployment, operator=people["operator"])
    stdout(f"Set up deployment {deployment.pk} ({version.size} watchlist entries) with {nodes} edge node(s); "
           f"to run again against it: {' '.join(f'--token {t}' for t in tokens)}")
    return deployment, tokens


# --- Running ----------------------------------------------------------------------------------


@dataclass
class Sent:
    frame_id: str
    watchlisted: bool
    answer: EdgeAnswer


@dataclass
class RunResult:
    sent: list[Sent] = field(default_factory=list)
    alert_seen: dict[str, float] = field(default_factory=dict)
    memory: dict[int, tuple[str, int]] = field(default_factory=dict)
    unique_memory: dict[int, int] = field(default_factory=dict)  # USS at the end: memory no other process shares
    memory_peak_total: int = 0
    load_started: float = 0.0
    load_ended: float = 0.0
    drained_at: float | None = None
    processed_at_load_end: int = 0
    processed: int = 0
    deleted: int = 0
    deletion_ms: list[float] = field(default_factory=list)
    face_deletion_ms: list[float] = field(default_factory=list)  # non-match faces: receipt to the end of its track
    figures: dict[str, int] = field(default_factory=dict)  # the run's tracks, faces, embeddings, alerts
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # worker / web / this client, during the run
    expired: int = 0  # accepted frames whose payload expired before a worker reached them


# Substrings that pick the system's processes out of the machine's (set by the command's --worker-match/--web-match).
PROCESS_MATCH = {"worker": "celery -A lfr_governance worker", "web": "gunicorn"}


def _processes(kind: str) -> list[psutil.Process]:
    """The Celery worker processes, or the web server processes, of the system under test."""
    found, own = [], psutil.Process().pid
    for process in psutil.process_iter(["pid", "cmdline"]):
        if process.info["pid"] != own and PROCESS_MATCH[kind] in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def _cpu_seconds() -> dict[str, float]:
    totals = {"worker": 0.0, "web": 0.0}
    main_seconds = 0.0  # the worker's Celery main processes (consuming, acknowledging, the pool's pipes)
    for kind in ("worker", "web"):
        processes = _processes(kind)
        pids = {process.pid for process in processes}
        for process in processes:
            try:
                times = process.cpu_times()
                is_main = process.ppid() not in pids
            except psutil.Error:
                continue
            totals[kind] += times.user + times.system
            if kind == "worker" and is_main:
                main_seconds += times.user + times.system
    totals["worker main"] = main_seconds
    own = psutil.Process().cpu_times()
    totals["benchmark client"] = own.user + own.system
    machine = psutil.cpu_times()
    totals["machine"] = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + \
        getattr(machine, "steal", 0.0)
    return totals


TRACK_FIGURES = ("faces_detected", "embeddings", "tracks", "candidates", "tracks_alerted", "alerts", "sightings")


def _track_figures(deployment_id: int) -> dict[str, int]:
    row = DeploymentCounters.objects.filter(deployment_id=deployment_id).values(*TRACK_FIGURES).first()
    return row or dict.fromkeys(TRACK_FIGURES, 0)


def _counters(deployment_id: int) -> tuple[int, int]:
    row = DeploymentCounters.objects.filter(deployment_id=deployment_id).values_list(
        "frames_processed", "frames_deleted").first()
    return row or (0, 0)


def _expired(deployment_id: int) -> int:
    return DeploymentCounters.objects.filter(deployment_id=deployment_id).values_list(
        "frames_expired", flat=True).first() or 0


def run_load(*, url: str, tokens: list[str], deployment_id: int, frames: list[BenchmarkFrame], fps: float,
             duration: float, warmup: int, in_flight: int, drain_timeout: float, scene: str = "photos") -> RunResult:
    """`scene` photos: each frame a passer-by of its own (a camera per frame); crowd: one camera per node showing
    the crowd scene's frames in capture order, in a loop."""
    result = RunResult()
    run = secrets.token_hex(3)

    def camera(node_index: int, frame_id: str) -> str:
        return f"bench {run} node {node_index}" if scene == "crowd" else f"bench {frame_id}"

    def frame_of(node_index: int, k: int) -> BenchmarkFrame:
        return frames[k % len(frames)] if scene == "crowd" else frames[(k + node_index * 7) % len(frames)]

    clients = [EdgeClient(url, token, retries=2, backoff=0.1) for token in tokens]
    for node_index, client in enumerate(clients):  # warm-up: the worker loads the engine and builds the gallery
        for k in range(warmup):
            frame_id = f"bench-{run}-w{node_index}-{k}"
            client.post_frame(frames[k % len(frames)].jpeg, frame_id=frame_id, camera=f"bench warm-up {frame_id}")
    base_processed, base_deleted = _counters(deployment_id)
    wait_until = time.monotonic() + drain_timeout
    while time.monotonic() < wait_until and _counters(deployment_id)[1] - base_deleted < warmup * len(clients):
        time.sleep(0.05)
    base_processed, base_deleted = _counters(deployment_id)
    time.sleep(settings.LFR_TRACK_GAP_SECONDS + 1.5)  # the warm-up's tracks end before the figures start
    base_figures = _track_figures(deployment_id)
    base_expired = _expired(deployment_id)
    frame_store.client().delete(frame_store.deletion_samples_key(deployment_id),
                                track_store.face_deletion_key(deployment_id))
    stop, listening = threading.Event(), threading.Event()
    lock = threading.Lock()

    def watch_alerts():
        """Alerts as they commit, from the database's own announcement (migration matching 0003): no polling, so
        the watcher takes next to no CPU from the system it measures, and an alert is seen when it is visible."""
        params = {k: v for k, v in connection.get_connection_params().items()
                  if k not in ("cursor_factory", "context", "prepare_threshold")}
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute("LISTEN lfr_alerts")
            listening.set()
            while not stop.is_set():
                for note in listener.notifies(timeout=0.2):
                    now = time.time()
                    deployment, _, frame_id = note.payload.split(":", 2)
                    if int(deployment) == deployment_id:
                        result.alert_seen.setdefault(frame_id, now)

    def watch_memory():
        workers, found_at = [], 0.0
        while not stop.is_set():
            if time.monotonic() - found_at > 5:  # the process table is read now and then, not at every sample
                workers, found_at = _processes("worker"), time.monotonic()
            total = 0
            for process in workers:
                try:
                    rss = process.memory_info().rss
                    result.memory[process.pid] = (" ".join(process.cmdline()[2:6]), rss)
                except psutil.Error:
                    continue
                total += rss
            result.memory_peak_total = max(result.memory_peak_total, total)
            stop.wait(0.5)

    watchers = [threading.Thread(target=watch_alerts, daemon=True), threading.Thread(target=watch_memory, daemon=True)]
    for watcher in watchers:
        watcher.start()
    if not listening.wait(30):
        raise RuntimeError("could not listen for alerts on the database")

    def send(client: EdgeClient, frame: BenchmarkFrame, frame_id: str, node_index: int) -> None:
        answer = client.post_frame(frame.jpeg, frame_id=frame_id, camera=camera(node_index, frame_id))
        with lock:
            result.sent.append(Sent(frame_id, frame.watchlisted, answer))

    per_node = int(round(fps * duration))
    schedule = sorted((k / fps + node_index / (fps * len(clients)), node_index, k)
                      for node_index in range(len(clients)) for k in range(per_node))
    cpu_before = _cpu_seconds()
    result.load_started = time.time()
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=in_flight * len(clients)) as pool:
        for offset, node_index, k in schedule:
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            frame, frame_id = frame_of(node_index, k), f"bench-{run}-n{node_index}-{k:06d}"
            if clients[node_index].backoff_remaining() > 0:
                # The server said its workers are behind (503 busy): the node sends nothing until Retry-After, and
                # this frame, newer than none it will send, is dropped at the node (as the edge agent does).
                with lock:
                    result.sent.append(Sent(frame_id, frame.watchlisted, EdgeAnswer(
                        frame_id, None, DROPPED_AT_NODE, "held back", 0, 0.0, time.time())))
                continue
            pool.submit(send, clients[node_index], frame, frame_id, node_index)
        result.load_ended = time.time()
        result.processed_at_load_end = _counters(deployment_id)[0] - base_processed
    accepted = sum(1 for s in result.sent if s.answer.accepted)
    deadline = time.monotonic() + drain_timeout
    while time.monotonic() < deadline:
        processed, deleted = _counters(deployment_id)
        if deleted - base_deleted >= accepted:
            result.drained_at = time.time()
            break
        time.sleep(0.05)
    cpu_after = _cpu_seconds()
    result.cpu_seconds = {kind: cpu_after[kind] - cpu_before[kind] for kind in cpu_after}
    time.sleep(0.3)
    stop.set()
    for watcher in watchers:
        watcher.join(5)
    for process in _processes("worker"):
        try:
            result.unique_memory[process.pid] = process.memory_full_info().uss
        except psutil.Error:
            pass
    processed, deleted = _counters(deployment_id)
    result.processed, result.deleted = processed - base_processed, deleted - base_deleted
    result.expired = _expired(deployment_id) - base_expired
    result.deletion_ms = frame_store.deletion_samples(deployment_id)
    result.face_deletion_ms = track_store.face_deletion_samples(deployment_id)
    figures = _track_figures(deployment_id)
    result.figures = {name: figures[name] - base_figures[name] for name in TRACK_FIGURES}
    close_old_connections()
    return result


def deployment_gallery(deployment_id: int) -> tuple[str, Gallery, float]:
    """The deployment's pack, gallery (built as the worker builds it) and threshold: what the engine alone searches."""
    deployment = Deployment.objects.select_related("watchlist_version").get(pk=deployment_id)
    version = deployment.watchlist_version
    return version.pack_id, gallery_build(version.pk, version.digest).gallery, deployment.threshold


def report(result: RunResult, *, fps: float, nodes: int, duration: float, engine: EngineRun,
           engine_parallel: EngineRun | None, size: tuple[int, int], write=print, scene: str = "photos") -> None:
    answers = [s.answer for s in result.sent]
    codes = Counter(a.code for a in answers)
    retried = sum(1 for a in answers if a.attempts > 1)
    accepted = [s for s in result.sent if s.answer.accepted]
    load_seconds = max(1e-6, result.load_ended - result.load_started)
    end = result.drained_at or time.time()
    e2e_seconds = max(1e-6, end - result.load_started)
    latencies = [(result.alert_seen[s.frame_id] - s.answer.sent_at) * 1000
                 for s in accepted if s.watchlisted and s.frame_id in result.alert_seen]
    expected_alerts = sum(1 for s in accepted if s.watchlisted)
    post_ms = [a.seconds * 1000 for a in answers if a.status is not None]
    processed_fps = result.processed / e2e_seconds

    def ms(values, p):
        value = percentile(values, p)
        return "n/a" if value is None else f"{value:.0f} ms"

    write("")
    shown = ("the crowd scene (five people walking across the view) on one camera per node" if scene == "crowd"
             else "one face each, each frame its own passer-by")
    write(f"Pipeline benchmark: {nodes} node(s) x {fps:g} frames/s for {duration:g} s, {size[0]}x{size[1]} frames, "
          f"{shown}")
    write(f"  frames sent            {len(answers)} ({', '.join(f'{c}: {n}' for c, n in sorted(codes.items()))}; "
          f"{retried} needed a retry)")
    write(f"  accepted               {len(accepted) / load_seconds:.1f} frames/s "
          f"(POST answered in p50 {ms(post_ms, 50)}, p95 {ms(post_ms, 95)})")
    write(f"  processed              {processed_fps:.1f} frames/s end to end ({result.processed} frames from first "
          f"POST to last deletion in {e2e_seconds:.1f} s; {result.processed_at_load_end} done when sending stopped"
          f"{'' if result.drained_at else '; NOT drained within the timeout'})")
    if scene == "crowd":
        # An alert is made by the frame that confirmed its track (the k-th at or above threshold): timed from that
        # frame's POST. Later appearances of a person on the same camera inside the merge window join the alert.
        write(f"  POST to alert visible  p50 {ms(latencies, 50)}, p95 {ms(latencies, 95)}, p99 {ms(latencies, 99)} "
              f"({len(latencies)} alerts, timed from the POST of the frame that confirmed each)")
    else:
        write(f"  POST to alert visible  p50 {ms(latencies, 50)}, p95 {ms(latencies, 95)}, p99 {ms(latencies, 99)} "
              f"({len(latencies)} of {expected_alerts} expected alerts seen as they committed)")
    write(f"  admission              {codes.get('busy', 0)} refused as busy (the frame would have waited more than "
          f"{settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS:g} s), {codes.get(DROPPED_AT_NODE, 0)} dropped at the nodes while "
          f"held back; {result.expired} accepted frame(s) expired unprocessed")
    figures = result.figures
    if figures and result.processed:
        write(f"  passers-by             {figures['tracks']} tracks, {figures['faces_detected']} faces "
              f"({figures['faces_detected'] / result.processed:.2f} per frame), {figures['embeddings']} embeddings "
              f"({figures['embeddings'] / result.processed:.2f} per frame), {figures['tracks_alerted']} tracks "
              f"confirmed, {figures['alerts']} alerts made, {figures['sightings']} sightings")
    face_ms = result.face_deletion_ms
    write(f"  non-match deletion     p50 {ms(face_ms, 50)}, p99 {ms(face_ms, 99)} per face, from receipt to the end of "
          f"its track ({len(face_ms)} faces of tracks that ended without an alert while frames came; a camera's last "
          "tracks end by their TTL instead)")
    write(f"  deletion latency       p50 {ms(result.deletion_ms, 50)}, p99 {ms(result.deletion_ms, 99)}, max "
          f"{ms(result.deletion_ms, 100)} ({len(result.deletion_ms)} frames, from receipt to payload deleted)")
    total = sum(rss for _, rss in result.memory.values())
    write(f"  worker memory          {total / 2**20:.0f} MiB RSS at the end in {len(result.memory)} process(es) "
          f"(peak {result.memory_peak_total / 2**20:.0f} MiB), {sum(result.unique_memory.values()) / 2**20:.0f} MiB "
          "of it unique to them (USS)")
    for pid, (cmd, rss) in sorted(result.memory.items()):
        write(f"    pid {pid:<8} RSS {rss / 2**20:4.0f} MiB, USS {result.unique_memory.get(pid, 0) / 2**20:4.0f} MiB"
              f"  {cmd}")
    if result.processed:
        cpu = dict(result.cpu_seconds)
        machine = cpu.pop("machine", 0.0)
        worker_main = cpu.pop("worker main", 0.0)
        cpu["everything else (PostgreSQL, Redis, other programs)"] = max(0.0, machine - sum(cpu.values()))
        write("  CPU per frame          " + ", ".join(f"{kind} {seconds / result.processed * 1000:.1f} ms"
                                                      for kind, seconds in cpu.items()))
        write(f"                         of the worker's: {worker_main / result.processed * 1000:.1f} ms in Celery's "
              f"main processes (consuming, acknowledging, handing tasks to the pool), "
              f"{(cpu.get('worker', 0.0) - worker_main) / result.processed * 1000:.1f} ms in the pool processes (the task)")
        elapsed = max(1e-6, end - result.load_started)
        busy = machine / elapsed / psutil.cpu_count() * 100
        write(f"  machine                {psutil.cpu_count()} CPUs, {busy:.0f}% busy during the run")
    write(f"  engine alone           {engine.fps:.1f} frames/s on the same frames ({engine.description}; "
          f"{engine.cpu_ms:.1f} ms CPU per frame)")
    if engine_parallel:
        write(f"                         {engine_parallel.fps:.1f} frames/s in {engine_parallel.description} at once "
              f"({engine_parallel.cpu_ms:.1f} ms CPU per frame)")
    if result.processed and result.cpu_seconds.get("worker"):
        worker_ms = result.cpu_seconds["worker"] / result.processed * 1000
        own = engine_parallel.cpu_ms if engine_parallel else engine.cpu_ms
        write(f"  worker / engine CPU    the worker spends {worker_ms:.1f} ms of CPU per frame, the engine alone "
              f"{own:.1f} ms with one thread (the engine's work is {own / worker_ms * 100:.0f}% of the worker's CPU)")
    # Kept up: nothing was refused for a backlog (admission control refuses `busy` once a frame would wait too long,
    # and the nodes then drop frames), and when sending stopped no more was waiting than about one second of the
    # offered load (the frames still in flight), or 2% of all, whichever is more; otherwise it was saturated.
    backlog = len(accepted) - result.processed_at_load_end
    held_back = codes.get("busy", 0) + codes.get(DROPPED_AT_NODE, 0)
    kept_up = not held_back and backlog <= max(len(accepted) * 0.02, fps * nodes)
    state = "offered load below capacity: the ratio measures the offered rate" if kept_up else "at saturation"
    write(f"  end to end / engine    {processed_fps / engine.fps * 100:.0f}% of the engine in one process ({state})")
    if engine_parallel:
        write(f"                         {processed_fps / engine_parallel.fps * 100:.0f}% of the engine in "
              f"{engine_parallel.description}, with nothing else on the machine")
