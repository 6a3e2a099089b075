"""The scale-out suite's system: the fault suite's (tests/faults/system.py) with its servers moved off loopback and its
frames workers onto simulated hosts.

- PostgreSQL and Redis (the launcher's embedded ones, on free ports) listen on the bridge address 10.231.0.1 only;
  every process, in whichever namespace, reaches them there (DATABASE_URL / REDIS_URL name that address).
- Web (gunicorn), beat and the default-queue worker run in the root namespace, from launcher.service_commands, under
  the launcher's Supervisor, as the fault suite runs them; LFR_FRAME_SHARDS=4 for every process.
- Each frames shard's worker (the service_commands command of `frames-<n>`, with its service_environments
  environment) runs in a host's namespace through `ip netns exec`, started and stopped here, never restarted by a
  supervisor (a killed host stays dead). Its database connections carry application_name `frames-<n>@<host>`, so
  pg_stat_activity names each worker beside its client address.

Also here: an edge sender whose cameras each send their frames one after another (a camera's next frame only once the
last was answered), many cameras in parallel, and the frames workers' records (tests/scaleout/frames_worker.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import urllib3

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
from tests.faults.system import OPTIONAL_SERVICES, RETRY_STATUSES, FaultSystem, Frame, _environ, wait_until

from .network import PREFIX_LENGTH, SERVER_ADDRESS, SUBNET, Host

SHARDS = 4
GIVE_UP_SECONDS = 20.0  # a frame still refused this long after capture is given up (never accepted)


def camera_shard(node_id: int, camera: str) -> int:
    from matching.routing import camera_shard as shard_of

    return shard_of(node_id, camera, SHARDS)


# --- Worker records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    event: str  # ready | start | end
    t: float  # time.time() in the worker
    pid: int
    host: str
    shard: int
    netns: int
    frame_id: str | None = None
    camera: str | None = None
    deployment_id: int | None = None
    state: str | None = None
    seq: int = 0  # the line's place in its process's file: the order the process did things in


def records_read(folder: Path) -> list[Record]:
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        for seq, line in enumerate(path.read_text().splitlines()):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue  # a line cut short by a SIGKILL
            found.append(Record(d["event"], d["t"], d["pid"], d["host"], int(d["shard"]), d["netns"],
                                d.get("frame_id"), d.get("camera"), d.get("deployment_id"), d.get("state"), seq))
    return found


# --- The edge sender ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    camera: str
    frame_id: str
    frame: Frame


@dataclass
class Sent:
    shot: Shot
    sent_at: float = 0.0  # time.time() of the first attempt
    outcome: str = "pending"  # accepted | refused | gave_up | unexpected
    accepted_at: float | None = None
    answers: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def frame_id(self) -> str:
        return self.shot.frame_id


class CameraSender:
    """Posts the shots to /api/edge/v1/frames as one edge node with many cameras: each camera's shots strictly one
    after another (its next only once the last was accepted or given up, as a camera's frames are captured), the
    cameras in parallel; shot i no earlier than `i / fps` seconds after the start when `fps` is given. Refusals
    that an edge node retries (no answer, 429, 5xx) are retried with backoff, keeping the frame id and capture time;
    a 409 `duplicate_frame` to a retry counts as accepted (an earlier attempt got through)."""

    def __init__(self, base_url: str, token: str, shots: list[Shot], *, fps: float | None = None, parallel: int = 16):
        self.url = base_url.rstrip("/") + "/api/edge/v1/frames"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.shots, self.fps, self.parallel = shots, fps, parallel
        self.sent = [Sent(s) for s in shots]
        self.http = urllib3.PoolManager(maxsize=parallel, block=False)
        self.started_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        """Sends no further shot (those not sent yet end as `not_sent`)."""
        self._stop.set()

    def start(self) -> None:
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._run, name="camera-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        by_camera: dict[str, list[tuple[int, Sent]]] = defaultdict(list)
        for index, sent in enumerate(self.sent):
            by_camera[sent.shot.camera].append((index, sent))
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="camera") as pool:
            for camera in by_camera:  # in the order of each camera's first shot
                pool.submit(self._camera, by_camera[camera])

    def _camera(self, shots: list[tuple[int, Sent]]) -> None:
        for index, sent in shots:
            if self._stop.is_set():
                sent.outcome = "not_sent"
                continue
            if self.fps:
                delay = self.started_at + index / self.fps - time.time()
                if delay > 0:
                    time.sleep(delay)
            try:
                self._send(sent)
            except Exception as exc:  # never lose a frame's outcome to a bug here
                sent.outcome = f"unexpected: sender error {exc!r}"

    def _send(self, sent: Sent) -> None:
        sent.sent_at = time.time()
        captured_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        fields = [("frame_id", sent.frame_id), ("captured_at", captured_at), ("camera", sent.shot.camera),
                  ("image", (f"{sent.frame_id}.jpg", sent.shot.frame.jpeg, "image/jpeg"))]
        backoff = 0.25
        while True:
            try:
                response = self.http.request("POST", self.url, fields=fields, headers=self.headers, retries=False,
                                             timeout=urllib3.Timeout(connect=5, read=30))
                status = response.status
                try:
                    code = str(json.loads(response.data).get("code", ""))
                except (ValueError, AttributeError):
                    code = ""
                retry_after = response.headers.get("Retry-After")
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                status, code, retry_after = None, exc.__class__.__name__, None
            sent.answers.append((status, code))
            if status == 202 or (code == "duplicate_frame" and len(sent.answers) > 1):
                sent.outcome, sent.accepted_at = "accepted", time.time()
                return
            if status not in RETRY_STATUSES:
                sent.outcome = "refused" if status == 409 else f"unexpected: {status} {code}"
                return
            try:
                pause = max(min(float(retry_after), 5.0) if retry_after else 0.0, backoff)
            except ValueError:
                pause = backoff
            backoff = min(backoff * 2, 4.0)
            if time.time() + pause - sent.sent_at > GIVE_UP_SECONDS:
                sent.outcome = "gave_up"
                return
            time.sleep(pause)

    def finish(self, timeout: float = 90.0) -> "CameraSender":
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the edge cameras were still sending after {timeout:.0f}s"
        self.http.clear()
        return self

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.sent:
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
        return counts

    def refusals(self) -> dict[str, int]:
        """The answers other than 202, as "<status> <code>": counts (the retried ones included)."""
        counts: dict[str, int] = {}
        for s in self.sent:
            for status, code in s.answers:
                if status != 202:
                    counts[f"{status} {code}"] = counts.get(f"{status} {code}", 0) + 1
        return counts

    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.outcome == "accepted"]


# --- The system --------------------------------------------------------------------------------


@dataclass
class FramesWorker:
    shard: int
    host: Host
    process: subprocess.Popen
    started_at: float  # time.time()


class ScaleoutSystem(FaultSystem):
    def __init__(self, root: Path, faces_dir: Path, hosts: list[Host]):
        super().__init__(root, faces_dir)
        self.hosts = hosts
        self.records_dir = root / "records"
        self.frames_workers: dict[int, FramesWorker] = {}
        self.frames_commands: dict[int, list[str]] = {}
        self.frames_envs: dict[int, dict[str, str]] = {}

    def start(self) -> None:
        for folder in (self.logs, self.media, self.root / "anchors", self.records_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(self.root / "pgdata", _pick_port(0), host=SERVER_ADDRESS)
        self._postgres_init_for_hosts()
        self.owner_url = self.pg.start()
        self.redis = EmbeddedRedis(self.root / "redis", _pick_port(0), host=SERVER_ADDRESS)
        self.redis_url = self.redis.start()
        self.app_url = database_url_with_user(self.owner_url, APP_ROLE, secrets.token_urlsafe(18))
        common = {
            "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.development", "DEBUG": "false",
            "REDIS_URL": self.redis_url, "MEDIA_ROOT": str(self.media), "LOG_LEVEL": "WARNING",
            "LFR_AUDIT_ANCHOR_KEY": secrets.token_urlsafe(40), "LFR_AUDIT_ANCHOR_DIR": str(self.root / "anchors"),
            "LFR_FRAME_SHARDS": str(SHARDS),  # web, beat and every worker agree on it
            # One edge node sends every camera's frames here: its per-node rate limit (10 a second by default)
            # would measure the limit, not the workers.
            "LFR_EDGE_MAX_FRAMES_PER_SECOND": "1000",
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
        with mock.patch.dict(os.environ, {"LFR_FRAME_SHARDS": str(SHARDS)}):
            every = service_commands(self.port, "WARNING")
        commands = {}
        for name, command in every.items():
            if name in OPTIONAL_SERVICES:
                continue
            command = list(command)
            if "--schedule" in command:
                command[command.index("--schedule") + 1] = str(self.root / f"{name}-schedule")
            if name.startswith("frames-"):
                self.frames_commands[int(name.split("-", 1)[1])] = command
                continue
            commands[name] = self._logged(name, command)
        assert sorted(self.frames_commands) == list(range(SHARDS)), sorted(every)
        self.frames_envs = {int(n.split("-", 1)[1]): env for n, env in
                            service_environments([f"frames-{s}" for s in range(SHARDS)], self.env).items()}
        envs = service_environments(commands, self.env)
        self.supervisor = Supervisor(commands, env=envs, say=self._say)
        with self._sup_lock:
            self.supervisor.start()
            self._groups.update(p.pid for p in self.supervisor.processes.values())
        self._sup_thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._sup_thread.start()
        _wait_for_port(self.port, "the scale-out suite's web server", timeout=60)

    def _postgres_init_for_hosts(self) -> None:
        """initdb as EmbeddedPostgres.start would, then one rule more: trust (as the suite's server does on
        loopback) on the hosts' subnet, the only address the server listens on."""
        pg = self.pg
        pg._prepare()
        pg._run("initdb", "-D", str(pg.pgdata), "--auth=trust", "--encoding=UTF8", "-U", "postgres")
        with (pg.pgdata / "pg_hba.conf").open("a") as fh:
            fh.write(f"\nhost all all {SUBNET}.0/{PREFIX_LENGTH} trust\n")

    def _logged(self, name: str, command: list[str]) -> list[str]:
        log = self.logs / f"{name}.log"
        return ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(log))} 2>&1', name, *command]

    # Frames workers on hosts ----------------------------------------------------------------

    def host_of(self, shard: int) -> Host | None:
        worker = self.frames_workers.get(shard)
        return worker.host if worker else None

    def frames_worker_start(self, shard: int, host: Host) -> FramesWorker:
        assert shard not in self.frames_workers, f"shard {shard} already has its one consumer"
        command = list(self.frames_commands[shard])
        at = command.index("-m")
        assert command[at + 1] == "celery", command
        command[at + 1] = "tests.scaleout.frames_worker"  # the same worker, its frames recorded
        env = dict(self.frames_envs[shard])
        app_name = f"frames-{shard}@{host.name}"
        env["DATABASE_URL"] = f"{self.app_url}?{urlencode({'application_name': app_name})}"
        env.update({"LFR_SCALEOUT_RECORDS": str(self.records_dir), "LFR_SCALEOUT_HOST": host.name})
        process = subprocess.Popen(host.command(self._logged(f"frames-{shard}", command)), cwd=BASE_DIR,
                                   start_new_session=True, env=env)
        self._groups.add(process.pid)
        worker = FramesWorker(shard, host, process, time.time())
        self.frames_workers[shard] = worker
        return worker

    def frames_worker_stop(self, shard: int, timeout: float = 30.0) -> None:
        """A warm shutdown (SIGTERM: the frame in hand is finished and acknowledged first)."""
        worker = self.frames_workers.pop(shard)
        try:
            os.killpg(worker.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            worker.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(10)

    def layout(self, hosts: list[Host], timeout: float = 90.0) -> dict[int, str]:
        """Shard s on hosts[s % len(hosts)]: the workers that must move are stopped and started on their host, and
        the new ones waited for (ready, consuming). Shard -> host name."""
        moved = [s for s in range(SHARDS) if self.host_of(s) != hosts[s % len(hosts)]]
        for shard in moved:
            if shard in self.frames_workers:
                self.frames_worker_stop(shard)
        started = [self.frames_worker_start(s, hosts[s % len(hosts)]) for s in moved]
        self.frames_workers_wait_ready(started, timeout)
        return {s: w.host.name for s, w in sorted(self.frames_workers.items())}

    def frames_workers_wait_ready(self, workers: list[FramesWorker], timeout: float = 90.0) -> None:
        if not workers:
            return

        def ready():
            for worker in workers:
                code = worker.process.poll()
                assert code is None, (f"frames-{worker.shard} on {worker.host.name} exited ({code}):\n"
                                      + "\n".join(self.log_tails(20).splitlines()[-60:]))
            up = {(r.host, r.shard) for r in records_read(self.records_dir) if r.event == "ready"
                  and r.t >= min(w.started_at for w in workers)}
            return all((w.host.name, w.shard) in up for w in workers)

        wait_until(ready, timeout, f"the frames workers {[f'{w.shard}@{w.host.name}' for w in workers]} to be ready")

    def stop(self) -> None:
        for worker in list(self.frames_workers.values()):
            try:
                os.killpg(worker.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for worker in list(self.frames_workers.values()):
            try:
                worker.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        for host in self.hosts:
            host.kill_all()
        super().stop()

    # Reading the servers ------------------------------------------------------------------------

    def records(self) -> list[Record]:
        return records_read(self.records_dir)

    def frames_finished(self, frame_ids) -> dict[str, list[Record]]:
        """frame id -> its `end` records (one per time it was processed to the end)."""
        wanted, found = set(frame_ids), defaultdict(list)
        for r in self.records():
            if r.event == "end" and r.frame_id in wanted:
                found[r.frame_id].append(r)
        return found

    def wait_processed(self, frame_ids, timeout: float = 90.0) -> None:
        frame_ids = list(frame_ids)
        wait_until(lambda: len(self.frames_finished(frame_ids)) == len(frame_ids), timeout,
                   f"{len(frame_ids)} frames to be processed")

    def all_payload_keys(self) -> list[str]:
        return [k.decode() for k in self.redis_client().scan_iter(match="lfr:frame:*", count=1000)]

    def counters_of(self, deployment_id: int) -> dict[str, int]:
        names = ["frames_received", "frames_refused", "frames_processed", "frames_deleted", "alerts"]
        row = self.query(f"SELECT {', '.join(names)} FROM deployments_deploymentcounters WHERE deployment_id = %s",
                         (deployment_id,))[0]
        return dict(zip(names, row))

    def alerts_like(self, prefix: str) -> list[tuple]:
        """(frame id, face index, subject reference, alert id, camera, deployment id, alerted_at epoch, the entry's
        watchlist version) of alerts of this node whose frame id starts with `prefix`, whatever their deployment."""
        return self.query(
            "SELECT a.frame_id, a.face_index, e.subject_ref, a.id, a.camera, a.deployment_id, "
            "extract(epoch from a.alerted_at)::float8, e.version_id FROM matching_alert a "
            "JOIN watchlists_watchlistentry e ON e.id = a.entry_id WHERE a.edge_node_id = %s AND a.frame_id LIKE %s",
            (self.node_id, f"{prefix}%"))

    def pg_clients(self) -> list[tuple[str, str | None, str, int]]:
        """(user, client address, application name, connections) of this server's clients, other than this query."""
        return self.query(
            "SELECT usename, host(client_addr), coalesce(application_name, ''), count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")

    def redis_clients(self) -> dict[str, int]:
        """Client address (IP) -> connections, from CLIENT LIST (this call's own included)."""
        counts: dict[str, int] = defaultdict(int)
        for client in self.redis_client().client_list():
            counts[client["addr"].rsplit(":", 1)[0]] += 1
        return dict(counts)
