"""A PostgreSQL outage, for real: a web process on its own embedded PostgreSQL, which the test stops and starts.

While it is down the edge API answers the documented JSON 503 `unavailable` with Retry-After (never an HTML 500),
/api/v1/ answers the API's JSON body, and /healthz is red naming the database; once it is back, /healthz's
database check is green again (a new connection, not the dead one). The machine's shared PostgreSQL is never
touched. No migrations: the outage answers need no tables, and the check is `SELECT 1`.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from lfr_governance.launcher import BASE_DIR, EmbeddedPostgres, _pick_port, _wait_for_port



def _get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        body = error.read()
        assert error.headers.get("Content-Type", "").startswith("application/json"), body[:200]
        return error.code, dict(error.headers), json.loads(body)


@pytest.fixture
def web_on_own_postgres(tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pgdata", _pick_port(0))
    database_url = pg.start()
    port = _pick_port(0)
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.test",
           "CONN_MAX_AGE": "60", "DEBUG": "false"}
    web = subprocess.Popen([sys.executable, str(BASE_DIR / "manage.py"), "runserver", "--noreload", "--skip-checks",
                            f"127.0.0.1:{port}"], cwd=BASE_DIR, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, "the test web server", timeout=40)
        yield pg, f"http://127.0.0.1:{port}"
    finally:
        web.terminate()
        try:
            web.wait(10)
        except subprocess.TimeoutExpired:
            web.kill()
        pg.stop()


def test_postgres_down_is_a_json_503_and_healthz_follows_it(web_on_own_postgres):
    pg, base = web_on_own_postgres
    started = time.monotonic()
    status, _, body = _get(f"{base}/healthz")
    assert body["checks"]["database"] == {"ok": True}  # up (the rest is red: no tables, no worker)

    pg.stop()
    status, headers, body = _get(f"{base}/healthz")
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is False

    frame = b"--b\r\nContent-Disposition: form-data; name=\"frame_id\"\r\n\r\nf-1\r\n--b--\r\n"
    status, headers, body = _get(f"{base}/api/edge/v1/frames", data=frame, headers={
        "Authorization": "Bearer some-node-token", "Content-Type": "multipart/form-data; boundary=b"})
    assert status == 503 and body["code"] == "unavailable" and int(headers["Retry-After"]) >= 1
    assert set(body) == {"detail", "code", "fields"}
    status, headers, body = _get(f"{base}/api/edge/v1/status", headers={"Authorization": "Bearer some-node-token"})
    assert status == 503 and body["code"] == "unavailable"

    status, headers, body = _get(f"{base}/api/v1/deployments/", headers={"Cookie": "sessionid=abcdefgh12345678"})
    assert status == 503 and body["code"] == "unavailable" and "Retry-After" in headers

    pg.start()
    status, _, body = _get(f"{base}/healthz")
    assert body["checks"]["database"] == {"ok": True}
    assert time.monotonic() - started < 60
