"""The fault suite's own system, on its own servers: an embedded PostgreSQL and Redis (launcher's) on free ports in a
temporary folder, migrated as the owner and run as the application role as `launcher.run` does, with web, worker(s)
and beat from `launcher.service_commands` kept running by the launcher's `Supervisor`, polled from a thread of this
process so the tests can see (and kill) its children. The machine's own PostgreSQL and Redis are never touched.

Also here: an edge sender that posts frames at a steady rate and retries refusals with backoff as an edge node
does (recording every answer), and a /healthz monitor.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import psutil
import psycopg
import redis
import urllib3
from PIL import Image

from lfr_governance.launcher import (
    APP_ROLE,
    BASE_DIR,
    EmbeddedPostgres,
    EmbeddedRedis,
    Supervisor,
    _pick_port,
    _wait_for_port,
    database_prepare,
    database_url_with_user,
    service_commands,
    service_environments,
)
from tools.edge_client import on_canvas, read_image_file

# Children of the supervisor whose name starts with one of these are Celery workers (the frame workers among them).
WORKER_PREFIXES = ("worker", "frames")
OPTIONAL_SERVICES = {"demo-camera"}  # not started here: the suite sends its own frames
PAYLOAD_TTL_SECONDS = 60  # LFR_FRAME_PAYLOAD_TTL_SECONDS (the default; not overridden here)
MAX_CLOCK_SKEW_SECONDS = 30  # LFR_EDGE_MAX_CLOCK_SKEW_SECONDS
FRAME_ID_TTL_SECONDS = 600  # LFR_EDGE_FRAME_ID_TTL_SECONDS
# A frame still refused this long after it was captured is given up (counted refused, never accepted), well before
# the server would refuse it for clock skew.
GIVE_UP_SECONDS = 20.0
# The seven watchlisted people (tools.benchmarks.frames.ENROLMENT, enrolled as BENCH-personNN by the setup) and
# the photographs never used as probes.
ENROLMENT = {"person01": "img1.jpg", "person02": "img3.jpg", "person03": "img8.jpg", "person04": "img13.jpg",
             "person05": "img16.jpg", "person06": "img18.jpg", "person07": "img20.jpg"}
MULTI_FACE = {"img31.jpg", "img41.jpg", "img54.jpg", "img59.jpg", "img62.jpg"}
MARKER = f"LFR-FAULT-{uuid.uuid4().hex}"  # made now: in no source file; placed in every frame's JPEG comment


def subject_ref(person: str) -> str:
    return f"BENCH-{person}"


def wait_until(condition, timeout: float, message: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {message}.")
        time.sleep(interval)


@contextmanager
def _environ(values: dict[str, str]):
    with mock.patch.dict(os.environ, values):
        for key in ("DATABASE_OWNER_URL", "DATABASE_APP_URL"):
            os.environ.pop(key, None)
        yield


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- Frames ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    person: str
    watchlisted: bool
    jpeg: bytes


def frames_build(faces_dir: Path, marker: str, size=(640, 360)) -> list[Frame]:
    """Camera-sized frames of one face each (photographs not used for enrolment), watchlisted and not alternately,
    each carrying `marker` in its JPEG comment (the residue check looks for it everywhere)."""
    folder = Path(faces_dir) / "deepface"
    with (folder / "identities.csv").open() as fh:
        rows = [(r["file"], r["identity"]) for r in csv.DictReader(fh)]
    usable = [(f, p) for f, p in rows if f not in ENROLMENT.values() and f not in MULTI_FACE]

    def frame(file: str, person: str) -> Frame:
        bgr = on_canvas(read_image_file(folder / file), *size)
        out = io.BytesIO()
        Image.fromarray(bgr[:, :, ::-1].copy()).save(out, "JPEG", quality=88, comment=marker.encode())
        return Frame(person, person in ENROLMENT, out.getvalue())

    matched = [frame(f, p) for f, p in usable if p in ENROLMENT]
    others = [frame(f, p) for f, p in usable if p not in ENROLMENT]
    mixed = []
    for k in range(max(len(matched), len(others))):
        mixed += [matched[k % len(matched)], others[k % len(others)]]
    return mixed


# --- The edge sender -------------------------------------------------------------------------


@dataclass
class Attempt:
    at: float  # time.monotonic() when the answer came
    status: int | None  # None: no answer (connection refused, reset, timeout)
    code: str
    detail: str
    content_type: str
    is_json: bool
    retry_after: str | None


@dataclass
class SentFrame:
    frame_id: str
    person: str
    watchlisted: bool
    captured_at: str
    captured_mono: float
    attempts: list[Attempt] = field(default_factory=list)
    outcome: str = "pending"  # accepted | refused (final answer, e.g. captured_before_restart) | gave_up | unexpected
    accepted_at: float | None = None


class Gate:
    """Lets the fault injector hold new requests and wait for those in flight (a snapshot of what was accepted)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._in_flight = 0
        self._paused = False

    @contextmanager
    def request(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._paused)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    @contextmanager
    def hold(self, timeout: float = 30.0):
        with self._cond:
            self._paused = True
            idle = self._cond.wait_for(lambda: self._in_flight == 0, timeout)
        try:
            if not idle:
                raise AssertionError(f"Edge requests were still in flight after {timeout:.0f}s.")
            yield
        finally:
            with self._cond:
                self._paused = False
                self._cond.notify_all()


RETRY_STATUSES = {None, 429, 500, 502, 503, 504}


class EdgeSender:
    """Posts frames to /api/edge/v1/frames at `fps` as one edge node: each frame keeps its frame id and capture
    time across retries (as tools/edge_client does), which honour Retry-After with exponential backoff and jitter,
    until it is accepted, refused for good, or GIVE_UP_SECONDS old."""

    def __init__(self, base_url: str, token: str, frames: list[Frame], phase: str, *, fps: float = 5.0,
                 camera: str = "fault-cam"):
        self.url = base_url.rstrip("/") + "/api/edge/v1/frames"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.frames, self.phase, self.fps, self.camera = frames, phase, fps, camera
        self.http = urllib3.PoolManager(maxsize=32, block=False)
        self.gate = Gate()
        self.sent: list[SentFrame] = []
        self._lock = threading.Lock()
        self._accepted_watchlisted = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix=f"edge-{phase}")
        self.started_at = 0.0
        self.schedule_ended_at = 0.0

    def start(self, seconds: float) -> None:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._schedule, args=(seconds,), name=f"edge-{self.phase}",
                                        daemon=True)
        self._thread.start()

    def _schedule(self, seconds: float) -> None:
        for k in range(int(round(seconds * self.fps))):
            delay = self.started_at + k / self.fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            frame = self.frames[k % len(self.frames)]
            sent = SentFrame(f"{self.phase}-{k:04d}", frame.person, frame.watchlisted,
                             datetime.now(timezone.utc).isoformat(timespec="milliseconds"), time.monotonic())
            with self._lock:
                self.sent.append(sent)
            self._pool.submit(self._send, sent, frame.jpeg)
        self.schedule_ended_at = time.monotonic()

    def _attempt(self, sent: SentFrame, jpeg: bytes) -> Attempt:
        # Each photograph is its own passer-by: its own camera name (different people at one spot a fifth of a
        # second apart would be joined into one track by their box).
        fields = [("frame_id", sent.frame_id), ("captured_at", sent.captured_at), ("camera", self.camera_of(sent)),
                  ("image", (f"{sent.frame_id}.jpg", jpeg, "image/jpeg"))]
        with self.gate.request():
            try:
                response = self.http.request("POST", self.url, fields=fields, headers=self.headers, retries=False,
                                             timeout=urllib3.Timeout(connect=5, read=30))
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                return Attempt(time.monotonic(), None, "no_answer", exc.__class__.__name__, "", False, None)
        content_type = response.headers.get("Content-Type", "")
        body, is_json = {}, False
        try:
            parsed = json.loads(response.data)
            if isinstance(parsed, dict):
                body, is_json = parsed, content_type.startswith("application/json")
        except ValueError:
            pass
        code = "queued" if response.status == 202 else str(body.get("code", f"http_{response.status}"))
        return Attempt(time.monotonic(), response.status, code, str(body.get("detail", ""))[:300], content_type,
                       is_json, response.headers.get("Retry-After"))

    def camera_of(self, sent: SentFrame) -> str:
        return f"{self.camera} {sent.frame_id}"

    def _send(self, sent: SentFrame, jpeg: bytes) -> None:
        try:
            self._send_with_retries(sent, jpeg)
        except Exception as exc:  # never lose a frame's outcome to a bug here
            sent.outcome = f"unexpected: sender error {exc!r}"

    def _send_with_retries(self, sent: SentFrame, jpeg: bytes) -> None:
        backoff = 0.25
        while True:
            attempt = self._attempt(sent, jpeg)
            sent.attempts.append(attempt)
            if attempt.status == 202 or (attempt.code == "duplicate_frame" and len(sent.attempts) > 1):
                # A duplicate answer to a retry: an earlier attempt got through (its answer was lost).
                with self._lock:
                    sent.outcome = "accepted"
                    sent.accepted_at = attempt.at
                    if sent.watchlisted:
                        self._accepted_watchlisted.notify_all()
                return
            if attempt.status not in RETRY_STATUSES:
                sent.outcome = "refused" if attempt.status == 409 else "unexpected"
                return
            try:
                retry_after = min(float(attempt.retry_after), 10.0) if attempt.retry_after else 0.0
            except ValueError:
                retry_after = 0.0
            pause = max(retry_after, backoff) + secrets.randbelow(250) / 1000
            backoff = min(backoff * 2, 4.0)
            if time.monotonic() + pause - sent.captured_mono > GIVE_UP_SECONDS:
                sent.outcome = "gave_up"
                return
            time.sleep(pause)

    def wait_for_accepted_watchlisted(self, after: float, timeout: float = 15.0) -> SentFrame:
        """The first watchlisted frame accepted at or after `after` (monotonic): the fault goes in right behind it."""
        def found():
            return next((s for s in self.sent if s.watchlisted and s.accepted_at and s.accepted_at >= after), None)

        with self._lock:
            if not self._accepted_watchlisted.wait_for(found, timeout):
                raise AssertionError(f"No watchlisted frame was accepted within {timeout:.0f}s of the fault's time: "
                                     f"{self.outcomes()}")
            return found()

    def finish(self, timeout: float = 60.0) -> None:
        """Waits for the schedule and for every frame's last retry."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the edge sender's schedule did not finish"
        deadline = time.monotonic() + timeout
        while any(s.outcome == "pending" for s in self.sent):
            assert time.monotonic() < deadline, f"edge frames still being retried after {timeout:.0f}s"
            time.sleep(0.1)
        self._pool.shutdown(wait=True)
        self.http.clear()

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in list(self.sent):
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
        return counts


# --- /healthz --------------------------------------------------------------------------------


@dataclass
class HealthSample:
    at: float
    status: int | None
    failing: tuple[str, ...]


class HealthMonitor:
    """GET /healthz twice a second for the whole session."""

    def __init__(self, base_url: str, interval: float = 0.5):
        self.url = base_url.rstrip("/") + "/healthz"
        self.interval = interval
        self.samples: list[HealthSample] = []
        self._stop = threading.Event()
        self._http = urllib3.PoolManager(maxsize=2)
        self._thread = threading.Thread(target=self._run, name="healthz-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def sample(self) -> HealthSample:
        try:
            response = self._http.request("GET", self.url, retries=False, timeout=urllib3.Timeout(connect=2, read=8))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return HealthSample(time.monotonic(), None, (f"no answer ({exc.__class__.__name__})",))
        try:
            checks = json.loads(response.data).get("checks", {})
            failing = tuple(sorted(name for name, check in checks.items() if not check.get("ok")))
        except (ValueError, AttributeError):
            failing = ("not JSON",)
        return HealthSample(time.monotonic(), response.status, failing)

    def between(self, start: float, end: float) -> list[HealthSample]:
        return [s for s in list(self.samples) if start <= s.at <= end]

    def wait_green(self, timeout: float, message: str) -> HealthSample:
        since = time.monotonic()
        return wait_until(lambda: next((s for s in self.between(since, float("inf")) if s.status == 200), None),
                          timeout, f"{message} (last /healthz: {self.last()})")

    def last(self) -> str:
        if not self.samples:
            return "none yet"
        s = self.samples[-1]
        return f"{s.status}, failing {list(s.failing)}"


# --- The system ------------------------------------------------------------------------------


class FaultSystem:
    def __init__(self, root: Path, faces_dir: Path):
        self.root, self.faces_dir = root, faces_dir
        self.logs = root / "logs"
        self.media = root / "media"
        self.messages: list[str] = []
        self.supervisor: Supervisor | None = None
        self._sup_lock = threading.Lock()
        self._sup_stop = threading.Event()
        self._sup_thread: threading.Thread | None = None
        self._groups: set[int] = set()  # process groups (one per child) ever started: all killed at the end
        self.pg: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.health: HealthMonitor | None = None

    # Start and stop ------------------------------------------------------------------------

    def start(self) -> None:
        for folder in (self.logs, self.media, self.root / "anchors"):
            folder.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(self.root / "pgdata", _pick_port(0))
        self.owner_url = self.pg.start()
        self.redis = EmbeddedRedis(self.root / "redis", _pick_port(0))
        self.redis_url = self.redis.start()
        self.app_url = database_url_with_user(self.owner_url, APP_ROLE, secrets.token_urlsafe(18))
        # As launcher.run: development settings with DEBUG off, the owner migrates, the processes run as lfr_app.
        common = {
            "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.development", "DEBUG": "false",
            "REDIS_URL": self.redis_url, "MEDIA_ROOT": str(self.media), "LOG_LEVEL": "WARNING",
            "LFR_AUDIT_ANCHOR_KEY": secrets.token_urlsafe(40), "LFR_AUDIT_ANCHOR_DIR": str(self.root / "anchors"),
        }
        with _environ(common):
            database_prepare(self.owner_url, self.app_url)
        self.env = {**os.environ, **common, "DATABASE_URL": self.app_url}
        for key in ("DATABASE_OWNER_URL", "DATABASE_APP_URL", "PYTEST_CURRENT_TEST"):
            self.env.pop(key, None)
        setup = subprocess.run([sys.executable, "-m", "tests.faults.deployment_setup", str(self.faces_dir)],
                               cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=180)
        assert setup.returncode == 0, f"deployment setup failed:\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}"
        answer = json.loads(setup.stdout.strip().splitlines()[-1])
        self.deployment_id, self.node_id, self.token = answer["deployment_id"], answer["node_id"], answer["token"]
        assert answer["confirmation_frames"] == 1, answer

        self.port = _pick_port(0)
        self.base_url = f"http://127.0.0.1:{self.port}"
        commands = {}
        for name, command in service_commands(self.port, "WARNING").items():
            if name in OPTIONAL_SERVICES:
                continue
            command = list(command)
            if "--schedule" in command:  # beat's schedule file: this system's own, not var/'s
                command[command.index("--schedule") + 1] = str(self.root / f"{name}-schedule")
            log = self.logs / f"{name}.log"
            # exec: the child's pid is the service's own (a worker's main process), its output goes to its log.
            commands[name] = ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(log))} 2>&1', name, *command]
        envs = service_environments(commands, self.env)  # as launcher.run gives them
        self.supervisor = Supervisor(commands, env=envs, say=self._say)
        with self._sup_lock:
            self.supervisor.start()
            self._groups.update(p.pid for p in self.supervisor.processes.values())
        self._sup_thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._sup_thread.start()
        assert self.worker_names(), f"no worker among the services {sorted(commands)}"
        _wait_for_port(self.port, "the fault suite's web server", timeout=60)
        self.health = HealthMonitor(self.base_url)
        self.health.start()

    def _say(self, message: str) -> None:
        self.messages.append(f"{time.monotonic():.1f} {message}")

    def _supervise(self) -> None:
        while not self._sup_stop.is_set():
            with self._sup_lock:
                self.supervisor.poll_once()
                self._groups.update(p.pid for p in self.supervisor.processes.values())
            self._sup_stop.wait(0.2)

    def stop(self) -> None:
        """Everything this system started, whatever state the tests left it in."""
        errors = []
        if self.health:
            self.health.stop()
        self._sup_stop.set()
        if self._sup_thread:
            self._sup_thread.join(10)
        if self.supervisor:
            try:
                self.supervisor.stop_all(timeout=15)
            except Exception as exc:
                errors.append(repr(exc))
        own = os.getpid()
        for process in psutil.process_iter(["pid"]):  # orphans of a killed main process (its pool) included
            try:
                if process.pid != own and os.getpgid(process.pid) in self._groups:
                    process.kill()
            except (psutil.Error, ProcessLookupError, PermissionError):
                pass
        keep = os.environ.get("LFR_FAULTS_KEEP_LOGS")  # a folder to copy the services' logs to, for diagnosis
        if keep:
            import shutil

            shutil.copytree(self.logs, Path(keep) / "logs", dirs_exist_ok=True)
            if self.pg is not None and (self.pg.pgdata / "server.log").exists():
                shutil.copy(self.pg.pgdata / "server.log", Path(keep) / "postgres.log")
        for server in (self.redis, self.pg):
            if server is not None:
                try:
                    server.stop()
                except Exception as exc:
                    errors.append(repr(exc))
        assert not errors, errors

    # The children ---------------------------------------------------------------------------

    def worker_names(self) -> list[str]:
        with self._sup_lock:
            return sorted(n for n in self.supervisor.commands if n.startswith(WORKER_PREFIXES))

    def process(self, name: str) -> subprocess.Popen | None:
        with self._sup_lock:
            return self.supervisor.processes.get(name)

    def restarts(self, name: str) -> int:
        with self._sup_lock:
            return self.supervisor.restarts[name]

    def pool_children(self, name: str) -> list[psutil.Process]:
        process = self.process(name)
        if process is None:
            return []
        try:
            return psutil.Process(process.pid).children()
        except psutil.Error:
            return []

    def worker_cpu(self) -> dict[str, float]:
        """CPU seconds of each worker's main process and pool so far."""
        totals = {}
        for name in self.worker_names():
            process = self.process(name)
            total = 0.0
            try:
                main = psutil.Process(process.pid)
                for p in [main, *main.children(recursive=True)]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except (psutil.Error, AttributeError):
                pass
            totals[name] = total
        return totals

    def busiest_worker(self, since: dict[str, float]) -> str:
        """The worker that used the most CPU since `since` (worker_cpu() earlier): the one matching the frames."""
        now = self.worker_cpu()
        return max(now, key=lambda n: now[n] - since.get(n, 0.0))

    def busiest_child(self, name: str, sample: float = 0.1) -> psutil.Process:
        children = self.pool_children(name)
        assert children, f"worker {name} has no pool process to kill"
        before = {}
        for child in children:
            try:
                before[child.pid] = sum(child.cpu_times()[:2])
            except psutil.Error:
                before[child.pid] = float("inf")
        time.sleep(sample)
        used = {}
        for child in children:
            try:
                used[child.pid] = sum(child.cpu_times()[:2]) - before[child.pid]
            except psutil.Error:
                used[child.pid] = -1.0
        return max(children, key=lambda c: used[c.pid])

    def log_tails(self, lines: int = 25) -> str:
        return "\n".join(f"--- {path.name} ---\n{_tail(path, lines)}" for path in sorted(self.logs.glob("*.log")))

    # The servers ----------------------------------------------------------------------------

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)

    def payload_keys(self) -> list[str]:
        pattern = f"lfr:frame:{self.deployment_id}:{self.node_id}:*"
        return [k.decode() for k in self.redis_client().scan_iter(match=pattern, count=1000)]

    def track_keys(self) -> list[str]:
        pattern = f"lfr:tracks:{self.deployment_id}:*"
        return [k.decode() for k in self.redis_client().scan_iter(match=pattern, count=1000)]

    def frame_id_keys(self, prefix: str) -> dict[str, tuple[str, int]]:
        """The frame-id keys (lfr:frame-seen / lfr:frame-done) of this node's frames whose id starts with `prefix`:
        key -> (frame id, TTL in seconds; -1 for none)."""
        client, found = self.redis_client(), {}
        for kind in ("frame-seen", "frame-done"):
            for key in client.scan_iter(match=f"lfr:{kind}:{self.node_id}:{prefix}*", count=1000):
                found[key.decode()] = (key.decode().split(":", 3)[3], int(client.ttl(key)))
        return found

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.owner_url.replace("postgres://", "postgresql://", 1), connect_timeout=3,
                             autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def alerts(self, phase: str) -> list[tuple]:
        """(frame id, face index, subject reference, alert id, camera) of this phase's alerts."""
        return self.query(
            "SELECT a.frame_id, a.face_index, e.subject_ref, a.id, a.camera FROM matching_alert a "
            "JOIN watchlists_watchlistentry e ON e.id = a.entry_id "
            "WHERE a.deployment_id = %s AND a.edge_node_id = %s AND a.frame_id LIKE %s",
            (self.deployment_id, self.node_id, f"{phase}-%"))

    def alert_audit_rows(self, alert_ids: list[int]) -> list[tuple]:
        if not alert_ids:
            return []
        return self.query("SELECT target_id, count(*) FROM audit_auditevent WHERE event = 'alert.create' "
                          "AND target_id = ANY(%s) GROUP BY target_id", ([str(i) for i in alert_ids],))

    def counters(self) -> dict[str, int]:
        names = ["frames_received", "frames_refused", "frames_processed", "frames_deleted", "alerts"]
        row = self.query(f"SELECT {', '.join(names)} FROM deployments_deploymentcounters WHERE deployment_id = %s",
                         (self.deployment_id,))[0]
        return dict(zip(names, row))

    def verify_no_residue(self, frame_ids: list[str], marker: str) -> subprocess.CompletedProcess:
        ids_file = self.root / f"frame-ids-{secrets.token_hex(4)}.txt"
        ids_file.write_text("\n".join(frame_ids) + "\n")
        return subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "verify_no_residue", "--deployment", str(self.deployment_id),
             "--frame-ids-file", str(ids_file), "--marker", marker],
            cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=120)
