"""Liveness of the parts the system needs: the database, Redis, a Celery worker, the purge job, and the checks
the apps register (lfr_governance/registry.py; matching: that every live deployment's frames can be matched)."""

import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from lfr_governance import clock
from lfr_governance.registry import registry
from lfr_governance.retention.services import last_successful_purge

HEARTBEAT_KEY = "lfr:worker:heartbeat"
# PostgreSQL unreachable (down, restarting, connection lost): answered 503 `unavailable`, never a bare 500.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def heartbeat_key(part: str = "") -> str:
    """The general worker's heartbeat, or (part = a shard number) the frames worker's of that shard."""
    return f"{HEARTBEAT_KEY}:frames:{part}" if part else HEARTBEAT_KEY


def worker_heartbeat_write(part: str = "") -> None:
    redis_client().set(heartbeat_key(part), f"{time.time():.3f}", ex=24 * 3600)


def _heartbeat_check(value, max_age: float, not_yet: str) -> dict:
    if value is None:
        return {"ok": False, "error": not_yet, "max_age_seconds": max_age}
    age = max(0.0, time.time() - float(value))
    return {"ok": age <= max_age, "last_seen_seconds_ago": round(age, 1), "max_age_seconds": max_age}


def health_check() -> tuple[bool, dict]:
    checks: dict[str, dict] = {}
    checks["database"] = _database_check()
    shards = [str(n) for n in range(settings.LFR_FRAME_SHARDS)]
    beats = [None] * (1 + len(shards))
    try:
        client = redis_client()
        client.ping()
        checks["redis"] = {"ok": True}
        beats = client.mget([heartbeat_key(), *(heartbeat_key(shard) for shard in shards)])
    except redis.RedisError as exc:
        checks["redis"] = {"ok": False, "error": exc.__class__.__name__}
    max_age = settings.LFR_WORKER_HEARTBEAT_MAX_AGE_SECONDS
    checks["worker"] = _heartbeat_check(beats[0], max_age, "no worker has answered yet")
    # Each frames queue has one consumer: one that stopped answering leaves its cameras' frames unmatched.
    for shard, value in zip(shards, beats[1:]):
        checks[f"frames_worker_{shard}"] = _heartbeat_check(
            value, max_age, f"the frames worker of shard {shard} has not answered yet: its cameras' frames wait")
    checks["purge"] = _purge_check()
    for key, check in registry.health_checks().items():  # what the apps add (matching: live deployments matched)
        try:
            checks[key] = check()
        except Exception as exc:  # a check that cannot answer fails; the database and Redis checks say why
            checks[key] = {"ok": False, "error": exc.__class__.__name__}
    return all(c["ok"] for c in checks.values()), checks


def _database_check() -> dict:
    """A query on the server now: a connection kept from before an outage is health-checked by Django
    (CONN_HEALTH_CHECKS) and replaced, and one that fails here is closed, so the next check connects afresh."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # a connection broken earlier in this thread is not reused
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:  # any failure to reach the database is a failed check
        if not connection.in_atomic_block:
            connection.close()
        return {"ok": False, "error": exc.__class__.__name__}


def _purge_check() -> dict:
    max_age = settings.LFR_PURGE_MAX_AGE_MINUTES * 60
    try:
        run = last_successful_purge()
    except Exception as exc:  # the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    if run is None:
        return {"ok": False, "error": "no retention purge has succeeded yet", "max_age_seconds": max_age}
    age = (clock.now() - run.finished_at).total_seconds()
    return {"ok": age <= max_age, "last_success_seconds_ago": round(age), "max_age_seconds": max_age}
