"""Admission control: the edge API refuses (503 `busy`, Retry-After, nothing kept) a frame its camera's queue could
not reach well inside the payload's TTL, so no accepted frame expires unmatched; a frame that expires anyway is
counted, shown on the deployment page and the DPO report, and turns /healthz red."""

import csv
import io
import os
import time
import uuid

import pytest

from matching import frames
from matching.models import Alert
from matching.routing import camera_shard, frame_queue

from .conftest import WATCHLISTED_PROBES, counters_of, jpeg_of, wait_for
from .test_pipeline_worker import _session_worker_paused, _start_worker, _stop

pytestmark = pytest.mark.django_db


@pytest.fixture
def service_keys():
    """The frames queues' reported speeds, removed before and after (other tests' workers write them)."""
    keys = [frames.service_key(f"lfr.frames.{n}") for n in range(8)]
    frames.client().delete(*keys)
    yield
    frames.client().delete(*keys)


def _busy(response):
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "busy" and "Drop the oldest frames" in body["detail"], body
    return body


@pytest.fixture
def idle_queues(settings):
    """Frames queues of this test's own (nothing consumes them; `published` keeps the task messages), with one
    frame standing in the queues' Celery lists as waiting."""
    settings.FRAME_QUEUE_PREFIX = f"lfr.admission-test.{uuid.uuid4().hex}."
    queues = [f"{settings.FRAME_QUEUE_PREFIX}{n}" for n in range(settings.LFR_FRAME_SHARDS)]
    for queue in queues:
        frames.client().rpush(queue, b"waiting")
    yield queues
    frames.client().delete(*queues, *(frames.service_key(q) for q in queues))


def test_a_frame_that_would_wait_too_long_is_refused_busy_and_nothing_is_kept(
        live, node, post_frame, face_bytes, published, settings, idle_queues):
    frame, camera = jpeg_of(face_bytes("img2.jpg")), "north mast"
    queue = frame_queue(node.pk, camera)
    # The queue's worker says it takes 25 s a frame: with one frame waiting, a new one would wait 50 s; at most 3.
    frames.client().set(frames.service_key(queue), "25.0")
    response = post_frame(node.token, frame, frame_id="busy-1", camera=camera)
    _busy(response)
    assert response["Retry-After"] == "10"  # 22 s over, capped at the most a node is asked to wait
    assert published == [] and frames.payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused, counters.frames_refused_busy) == (0, 1, 1)

    # Only that camera's queue is behind: a camera on another queue is accepted.
    other = next(f"mast {n}" for n in range(100) if camera_shard(node.pk, f"mast {n}") != camera_shard(node.pk, camera))
    assert post_frame(node.token, frame, frame_id="other-1", camera=other).status_code == 202
    # An empty queue always admits, whatever the estimate (a stale one, from a worker since restarted, corrects
    # itself with the next frame's report).
    frames.client().delete(queue)
    assert post_frame(node.token, frame, frame_id="empty-1", camera=camera).status_code == 202
    frames.client().rpush(queue, b"waiting")

    # Once the worker reports its speed again, the same frame id is accepted: a refused id was never claimed.
    frames.client().set(frames.service_key(queue), "0.05")
    assert post_frame(node.token, frame, frame_id="busy-1", camera=camera).status_code == 202
    assert len(published) == 3

    # A repeat is still told it is a repeat, busy or not.
    frames.client().set(frames.service_key(queue), "25.0")
    response = post_frame(node.token, frame, frame_id="busy-1", camera=camera)
    assert response.status_code == 409 and response.json()["code"] == "duplicate_frame"


def test_busy_refusals_are_logged_as_one_warning_a_while_not_one_error_each(
        live, node, post_frame, face_bytes, published, idle_queues, caplog, monkeypatch, settings):
    import logging

    from matching.api import views

    settings.LFR_EDGE_MAX_FRAMES_PER_SECOND = 100

    monkeypatch.setitem(views._busy, "since", 0.0)
    monkeypatch.setitem(views._busy, "count", 0)
    frame, camera = jpeg_of(face_bytes("img2.jpg")), "log mast"
    frames.client().set(frames.service_key(frame_queue(node.pk, camera)), "25.0")
    with caplog.at_level(logging.INFO):
        for number in range(12):
            _busy(post_frame(node.token, frame, frame_id=f"log-{number}", camera=camera))
    busy_lines = [r for r in caplog.records if "refused busy" in r.getMessage()]
    assert len(busy_lines) == 1 and busy_lines[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.name == "django.request"]  # no error line per refused request
    assert views._busy["count"] == 11  # counted for the next report


def test_the_wait_counts_the_frames_already_waiting_in_the_queue(live, node, settings):
    settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS = 1.0
    queue = f"lfr.admission-test.{uuid.uuid4().hex}"  # a list no worker consumes, standing in for a frames queue
    client = frames.client()
    client.set(frames.service_key(queue), "0.3")
    try:
        # Two waiting and the new one: 0.9 s, inside the 1 s allowed.
        client.rpush(queue, b"waiting", b"waiting")
        admitted = frames.frame_admit(live.pk, node.pk, "q-1", b"F", 0.0, queue)
        assert (admitted.outcome, admitted.wait_seconds) == (frames.ADMITTED, pytest.approx(0.9))
        # Three waiting: 1.2 s, refused; nothing stored and the id not claimed.
        client.rpush(queue, b"waiting")
        refused = frames.frame_admit(live.pk, node.pk, "q-2", b"F", 0.0, queue)
        assert (refused.outcome, refused.wait_seconds) == (frames.QUEUE_FULL, pytest.approx(1.2))
        assert client.get(frames.payload_key(live.pk, node.pk, "q-2")) is None
        assert not client.exists(frames.seen_key(node.pk, "q-2"))
        # A queue whose worker has not reported yet is judged at the assumed speed (0.4 s a frame here).
        client.delete(frames.service_key(queue))
        settings.LFR_EDGE_ASSUMED_SECONDS_PER_FRAME = 0.4
        assumed = frames.frame_admit(live.pk, node.pk, "q-3", b"F", 0.0, queue)
        assert (assumed.outcome, assumed.wait_seconds) == (frames.QUEUE_FULL, pytest.approx(4 * 0.4))
    finally:
        client.delete(queue, frames.service_key(queue), frames.payload_key(live.pk, node.pk, "q-1"),
                      frames.seen_key(node.pk, "q-1"))


@pytest.mark.parametrize("value", ["nan", "-1", "0", "31", "inf"])
def test_a_queue_wait_limit_that_is_not_a_sensible_number_of_seconds_stops_the_settings(value):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    run = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO_ROOT, capture_output=True,
                         text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.test",
                                         "LFR_EDGE_MAX_QUEUE_WAIT_SECONDS": value})
    assert run.returncode != 0 and "LFR_EDGE_MAX_QUEUE_WAIT_SECONDS" in run.stderr and "half" in run.stderr


# --- With a real worker -----------------------------------------------------------------------


@pytest.fixture
def expired_recent():
    frames.client().delete(frames.EXPIRED_RECENT_KEY)
    yield
    frames.client().delete(frames.EXPIRED_RECENT_KEY)


def _cameras_on_one_queue(node, count: int) -> list[str]:
    """Camera names that all hash to shard 0: one queue, one consumer, as a busy site's cameras might."""
    from django.conf import settings

    names = (f"overload mast {n}" for n in range(100_000))
    return [name for name, _ in zip((n for n in names if camera_shard(node.pk, n, settings.LFR_FRAME_SHARDS) == 0),
                                    range(count))]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_more_frames_than_the_worker_can_do_for_longer_than_the_ttl_are_refused_or_matched_and_none_expires(
        celery_worker_process, live, node, post_frame, face_bytes, faces_dir, settings, service_keys, expired_recent):
    from matching.selectors import frames_expired_health

    from .test_pipeline_worker import _probe_photos

    ttl, max_wait, sleep = 8, 3.0, 0.5  # a worker doing under 2 frames a second, offered 6 for 2.5 TTLs
    settings.LFR_FRAME_PAYLOAD_TTL_SECONDS, settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS = ttl, max_wait
    settings.LFR_EDGE_MAX_FRAMES_PER_SECOND = 20
    fps, seconds = 6.0, 2.5 * ttl
    photos = [(name, person in WATCHLISTED_PROBES) for name, person in _probe_photos(faces_dir)]
    jpegs = {name: jpeg_of(face_bytes(name)) for name, _ in photos}
    cameras = _cameras_on_one_queue(node, int(fps * seconds))
    answers = []  # (frame id, watchlisted, status, code, Retry-After, when)
    started = []
    try:
        with _session_worker_paused():
            started.append(_start_worker(f"slow-{os.getpid()}", entry="tests.matching.slow_frame_worker",
                                         LFR_TEST_FRAME_SLEEP_SECONDS=sleep, LFR_FRAME_PAYLOAD_TTL_SECONDS=ttl,
                                         LFR_EDGE_MAX_QUEUE_WAIT_SECONDS=max_wait))
            begin = time.monotonic()
            for number, camera in enumerate(cameras):
                delay = begin + number / fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                name, watchlisted = photos[number % len(photos)]
                frame_id = f"over-{number:04d}"
                response = post_frame(node.token, jpegs[name], frame_id=frame_id, camera=camera)
                answers.append((frame_id, watchlisted, response.status_code, response.json().get("code", "queued"),
                                response.get("Retry-After"), time.monotonic() - begin))
            accepted = [a for a in answers if a[2] == 202]
            wait_for(lambda: counters_of(live).frames_deleted >= len(accepted), 3 * ttl, 0.2,
                     "the worker to finish every accepted frame")
            time.sleep(1.0)  # room for a late (wrong) count to show
    finally:
        for process in started:
            _stop(process)

    busy = [a for a in answers if a[2] == 503]
    # Every frame was either accepted or refused busy, with when to come back; nothing else.
    assert {(a[2], a[3]) for a in answers} <= {(202, "queued"), (503, "busy")}, {(a[2], a[3]) for a in answers}
    assert all(a[4] is not None and 1 <= int(a[4]) <= 10 for a in busy)
    # The load was more than the worker could do, for longer than the TTL: without admission, frames would expire.
    assert len(accepted) < 0.6 * len(answers) and busy[-1][5] - busy[0][5] > ttl, (len(accepted), len(answers))
    counters = counters_of(live)
    assert counters.frames_expired == 0
    assert (counters.frames_received, counters.frames_processed, counters.frames_deleted) == (
        len(accepted), len(accepted), len(accepted))
    assert (counters.frames_refused, counters.frames_refused_busy) == (len(busy), len(busy))
    # Every alert an accepted frame should make was made, and none for a refused frame.
    expected = {a[0] for a in accepted if a[1]}
    assert expected and set(Alert.objects.filter(deployment=live).values_list("frame_id", flat=True)) == expected
    assert frames.payload_keys(live.pk) == [] and frames_expired_health() == {"ok": True}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_frame_that_expires_anyway_is_counted_shown_and_turns_healthz_red(
        celery_worker_process, live, node, post_frame, face_bytes, client, dep_people, make_user, expired_recent):
    from lfr_governance.accounts.choices import Role
    from lfr_governance.retention.exports import report_csv
    from lfr_governance.retention.selectors import deployment_retention

    with _session_worker_paused():
        assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="late-1").status_code == 202
        frames.payload_discard(live.pk, node.pk, "late-1")  # as its TTL would, before any worker reached it
    wait_for(lambda: counters_of(live).frames_deleted == 1, 30, 0.2, "the worker to take the expired frame")
    counters = counters_of(live)
    assert (counters.frames_expired, counters.frames_processed, counters.alerts) == (1, 0, 0)

    health = client.get("/healthz")
    assert health.status_code == 503
    check = health.json()["checks"]["frames_expired"]
    assert check["ok"] is False and check["expired_unprocessed"] == {f"LFR-{live.pk:05d}": 1}, check

    client.force_login(dep_people["owner"])
    page = client.get(f"/deployments/{live.pk}/").content.decode()
    figure = page.split('data-testid="figure-frames_expired">', 1)[1].split("</dd>", 1)[0]
    assert ">1<" in figure and "missed" in figure
    client.force_login(make_user("dpo-expired", Role.DPO))
    report = client.get("/retention/").content.decode()
    assert "1 accepted frame expired unprocessed" in report
    csv_text = report_csv([deployment_retention(live)])
    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    column = header.index("frames expired unprocessed")
    assert {row[column] for row in rows} == {"1"}

    frames.client().delete(frames.EXPIRED_RECENT_KEY)  # LFR_FRAMES_EXPIRED_ALERT_SECONDS after the last
    assert client.get("/healthz").json()["checks"]["frames_expired"] == {"ok": True}
