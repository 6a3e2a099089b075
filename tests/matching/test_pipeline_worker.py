"""The pipeline with a real Celery worker on the test database and Redis: frames posted through the edge API,
alerts for the watchlisted people only, decisions on the console, the counters, the proof of deletion, and a
worker killed in the middle of a frame."""

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import psutil
import pytest

from matching.routing import frame_queues
from django.conf import settings
from django.core.management import call_command

from deployments.selectors import published_record
from lfr_governance.audit.models import AuditEvent
from matching import frames
from matching.models import Alert
from tests.conftest import REPO_ROOT, _test_database_url

from .conftest import ENROLMENT, counters_of, jpeg_of, subject_ref, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MULTI_FACE = {"img31.jpg", "img41.jpg", "img54.jpg", "img59.jpg", "img62.jpg"}
MARKER = f"LFR-E2E-{uuid.uuid4().hex}"  # made now: found in no source file or command line


def _probe_photos(faces_dir) -> list[tuple[str, str]]:
    """Every photograph of the thirteen people except the enrolment ones and those with several faces."""
    enrolled = {image for image, _, _ in ENROLMENT.values()}
    with (faces_dir / "deepface" / "identities.csv").open() as fh:
        rows = [(row["file"], row["identity"]) for row in csv.DictReader(fh)]
    return [(name, person) for name, person in rows if name not in enrolled and name not in MULTI_FACE]


def test_frames_from_thirteen_people_alert_for_the_seven_on_the_watchlist_and_leave_no_residue(
        celery_worker_process, live, node, post_frame, face_bytes, faces_dir, client, dep_people, capsys):
    photos = _probe_photos(faces_dir)
    assert len({person for _, person in photos}) == 13
    sent = {}
    for name, person in photos:
        frame_id = f"e2e-{name.removesuffix('.jpg')}"
        # Each photograph is its own passer-by (its own camera): different people at the same spot a tenth of a
        # second apart are not how a street looks, and a tracker would join them by their box.
        response = post_frame(node.token, jpeg_of(face_bytes(name), marker=MARKER), frame_id=frame_id,
                              camera=f"north mast {name}")
        assert response.status_code == 202, response.content
        sent[frame_id] = person
        time.sleep(0.11)  # under the per-node limit of 10 a second (one camera); the worker keeps up
    wait_for(lambda: counters_of(live).frames_deleted == len(sent), 90, message="the worker to finish every frame")

    # Alerts: one per frame of a watchlisted person, naming that person; none for the six others.
    alerts = {a.frame_id: a for a in Alert.objects.select_related("entry")}
    expected = {fid: person for fid, person in sent.items() if person in ENROLMENT}
    assert set(alerts) == set(expected)
    for frame_id, person in expected.items():
        assert alerts[frame_id].entry.subject_ref == subject_ref(person)
        assert alerts[frame_id].score >= alerts[frame_id].threshold == live.threshold
        assert alerts[frame_id].camera == f"north mast {frame_id.removeprefix('e2e-')}.jpg" and alerts[frame_id].probe_image.storage.exists(
            alerts[frame_id].probe_image.name)

    # The counters match what was sent.
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused, counters.frames_processed, counters.frames_deleted,
            counters.faces_detected, counters.templates_compared, counters.alerts) == (
        len(sent), 0, len(sent), len(sent), len(sent), len(sent), len(expected))
    assert 0 < counters.deletion_ms_max < 3000 and counters.deletion_ms_total / len(sent) < 1000
    assert frames.payload_keys(live.pk) == []

    # The operator sees them on the console (after giving a reason) and decides three.
    client.force_login(dep_people["operator"])
    console = f"/alerts/deployments/{live.pk}/"
    assert client.get(console).status_code == 302
    reason = {"justification": "Operator on duty for this deployment"}
    assert client.post(f"{console}justify/", reason).status_code == 302
    feed = client.get(f"{console}feed.json", {"after": 0}).json()
    assert len(feed["alerts"]) == len(expected) and feed["awaiting_decision"] == len(expected)
    assert AuditEvent.objects.filter(event="alert.view", action="consultation").count() == len(expected)
    first, second, third = sorted(alerts.values(), key=lambda a: a.pk)[:3]
    probe = client.get(f"/alerts/{first.pk}/probe/")
    assert probe.status_code == 200 and probe["Content-Type"] == "image/jpeg"
    assert client.get(f"/alerts/{first.pk}/reference/").status_code == 200
    json_accept = {"HTTP_ACCEPT": "application/json"}
    assert client.post(f"/alerts/{first.pk}/adjudicate/", {"decision": "confirmed"}, **json_accept).status_code == 200
    assert client.post(f"/alerts/{first.pk}/outcome/", {"outcome": "arrested"}, **json_accept).status_code == 200
    assert client.post(f"/alerts/{second.pk}/adjudicate/", {"decision": "false_alert"},
                       **json_accept).status_code == 200
    answer = client.post(f"/alerts/{third.pk}/adjudicate/", {"decision": "undetermined"}, **json_accept).json()
    assert answer["awaiting_decision"] == len(expected) - 3
    events = list(AuditEvent.objects.filter(event__in=["alert.adjudicate", "alert.outcome"]).values_list(
        "event", "target_id", "actor__username"))
    assert sorted(events) == sorted([("alert.adjudicate", str(first.pk), "operator"),
                                     ("alert.outcome", str(first.pk), "operator"),
                                     ("alert.adjudicate", str(second.pk), "operator"),
                                     ("alert.adjudicate", str(third.pk), "operator")])
    record = published_record(live)
    assert (record["alerts"], record["true_alerts"], record["false_alerts"], record["engagements"],
            record["arrests"]) == (len(expected), 1, 1, 1, 1)
    assert record["faces_processed"] == len(sent)

    # The proof of deletion finds nothing: no trace of the frames that made no alert, anywhere.
    capsys.readouterr()
    call_command("verify_no_residue", deployment=live.pk, frame_ids=list(sent), markers=[MARKER])
    out = capsys.readouterr().out
    assert "Nothing found." in out and "FOUND" not in out


# --- A worker killed in the middle of a frame -------------------------------------------------


def _worker_env(**extra) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.test",
            "DATABASE_URL": _test_database_url(), "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT), **{k: str(v) for k, v in extra.items()}}


def _start_worker(name: str, entry: str = "celery", **env) -> subprocess.Popen:
    """A worker started with `python -m <entry>` (celery itself, or a test's wrapper around it)."""
    from lfr_governance.celery import app

    process = subprocess.Popen(
        [sys.executable, "-m", entry, "-A", "lfr_governance", "worker", "--loglevel", "WARNING",
         "--concurrency", "1", "--pool", "prefork", "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
         "--queues", ",".join(["celery", *frame_queues()])],
        cwd=REPO_ROOT, env=_worker_env(**env), start_new_session=True,
    )
    hostname = f"{name}@{socket.gethostname()}"
    wait_for(lambda: process.poll() is not None or app.control.ping(destination=[hostname], timeout=0.5), 60,
             interval=0.2, message=f"worker {name} to start")
    assert process.poll() is None, f"worker {name} exited with {process.returncode}"
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextmanager
def _session_worker_paused():
    """Holds this run's session worker off the queue, so only the workers started here take the frame."""
    from lfr_governance.celery import app

    worker = [f"test-worker-{os.getpid()}@{socket.gethostname()}"]
    queues = [app.conf.task_default_queue, *frame_queues()]
    for queue in queues:
        assert app.control.cancel_consumer(queue, destination=worker, reply=True, timeout=5)
    try:
        yield
    finally:
        for queue in queues:
            app.control.add_consumer(queue, destination=worker, reply=True, timeout=5)


def _running_frame_task(name: str) -> bool:
    from lfr_governance.celery import app

    active = app.control.inspect(destination=[f"{name}@{socket.gethostname()}"], timeout=1).active() or {}
    return any(task["name"] == "matching.process_frame" for tasks in active.values() for task in tasks)


def test_a_worker_killed_mid_frame_leaves_it_to_redelivery_and_it_is_processed_once(
        celery_worker_process, live, node, post_frame, face_bytes):
    started = []
    try:
        with _session_worker_paused():
            # A worker whose frame task sleeps before matching, so it can be killed in the middle.
            crashing = _start_worker(f"crashing-{os.getpid()}", entry="tests.matching.slow_frame_worker")
            started.append(crashing)
            assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="crash-1").status_code == 202
            wait_for(lambda: _running_frame_task(f"crashing-{os.getpid()}"), 30, 0.2, "the frame task to start")

            # kill -9 the child running the task: the worker's main process puts the message back.
            children = psutil.Process(crashing.pid).children()
            assert len(children) == 1
            os.kill(children[0].pid, signal.SIGKILL)
            wait_for(lambda: _running_frame_task(f"crashing-{os.getpid()}"), 30, 0.2, "the frame to be redelivered")
            assert counters_of(live).frames_processed == 0

            # Now kill -9 the whole worker in the middle of the frame again: nobody acknowledges it.
            os.killpg(crashing.pid, signal.SIGKILL)
            crashing.wait(10)
            time.sleep(0.5)
            assert counters_of(live).frames_processed == 0 and not Alert.objects.exists()
            assert len(frames.payload_keys(live.pk)) == 1  # the frame waits in Redis (no persistence) under its TTL

            # A worker started again gets the unacknowledged frame after the visibility timeout.
            recovering = _start_worker(f"recovering-{os.getpid()}", CELERY_VISIBILITY_TIMEOUT_SECONDS=2,
                                       CELERY_UNACKED_RESTORE_INTERVAL_SECONDS=1, CELERY_UNACKED_RESTORE_THROTTLE=1)
            started.append(recovering)
            wait_for(lambda: counters_of(live).frames_deleted >= 1, 60, 0.2, "the redelivered frame")
            time.sleep(1.5)  # room for a second (wrong) delivery to show itself
    finally:
        for process in started:
            _stop(process)

    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_processed, counters.frames_deleted, counters.alerts) == (
        1, 1, 1, 1)
    assert Alert.objects.filter(frame_id="crash-1").count() == 1
    assert frames.payload_keys() == []
    call_command("verify_no_residue", deployment=live.pk, frame_ids=["crash-1"])
