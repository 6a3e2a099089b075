"""The edge API behind the real web server (gunicorn, threaded workers, as the run command and compose.yaml
start it), where what happens to a kept-alive connection matters: an edge node posts many frames on one."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from django.conf import settings
from PIL import Image

from tests.conftest import _test_database_url

from .conftest import EDGE

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web_server():
    """gunicorn on the test database, with a per-node limit of one request a second."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.test", "DATABASE_URL": _test_database_url(),
           "REDIS_URL": settings.REDIS_URL, "LFR_EDGE_MAX_FRAMES_PER_SECOND": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lfr_governance.wsgi", "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--workers", "1", "--threads", "4"],
        cwd=REPO_ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def test_refusals_made_before_the_body_is_read_still_answer_on_a_kept_alive_connection(live, node, web_server):
    # A frame large enough not to sit whole in the socket buffers (noise does not compress).
    noise = np.random.default_rng(7).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=40)
    assert len(buffer.getvalue()) > 60_000
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {node.token}"
    answers = []
    for number in range(12):
        try:
            # An unreadable time: a request under the rate is parsed and refused (400) and queues nothing;
            # those over it are refused (429) before the body is read.
            response = session.post(f"{web_server}{EDGE}/frames", files={"image": ("f.jpg", buffer.getvalue(), "image/jpeg")},
                                    data={"frame_id": f"keepalive-{number}", "captured_at": "not a time", "camera": "c"},
                                    timeout=10)
            answers.append((response.status_code, response.json()["code"]))
        except requests.ConnectionError as exc:
            answers.append(("connection lost", exc.__class__.__name__))
    assert all(status in (400, 429) for status, _ in answers), answers
    assert sum(1 for status, code in answers if (status, code) == (429, "rate_limited")) >= 6, answers
