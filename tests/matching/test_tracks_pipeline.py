"""Passers-by, not frames: the synthetic street scene (tools/scenes.py) through the edge API and the pipeline.

A watchlisted person (person01) and a stranger walk across one camera's view at 5 frames/s, both in view at once
for part of it; the watchlisted person comes back after a 3 s gap. With the deployment's rule k = 2 that is one
alert for the watchlisted person (the second appearance joins it, inside LFR_ALERT_MERGE_SECONDS) or two (outside
it), none for the stranger, and the alert counts its sightings. Frames out of order, a duplicate and a worker
killed in the middle change nothing. When the tracks have ended nothing of them is left.
"""

import os
import random
import signal
import time
from datetime import timedelta

import psutil
import pytest
from django.core.management import call_command
from django.utils import timezone

from deployments.models import Deployment
from matching import frames, pipeline, tracks
from matching.models import Alert
from tools.residue import residue_find
from tools.scenes import STRANGER, WATCHLISTED, watchlist_scene

from .conftest import counters_of, subject_ref, wait_for

CAMERA = "high street north"


@pytest.fixture(scope="module")
def scene(faces_dir):
    return watchlist_scene(faces_dir)


@pytest.fixture
def k2(live):
    """The live deployment with the default rule: k = 2 frames at or above threshold to confirm."""
    Deployment.objects.filter(pk=live.pk).update(confirmation_frames=2)
    live.refresh_from_db()
    return live


def _post_scene(post_frame, node, scene, *, order=None, run="s", pause=0.11, base=None):
    """Posts the scene's frames (in `order`, default capture order) with their capture times, spaced as filmed from
    `base` (default: ending a moment ago). Returns the frame ids by frame index."""
    base = base or timezone.now() - timedelta(seconds=scene.times[-1] + 1)
    jpegs = scene.jpegs()
    ids = {index: f"{run}-{index:03d}" for index in range(len(scene))}
    for index in order or range(len(scene)):
        response = post_frame(node.token, jpegs[index], frame_id=ids[index], camera=CAMERA,
                              captured_at=base + timedelta(seconds=scene.times[index]))
        assert response.status_code == 202, response.content
        time.sleep(pause)  # under the node's 10 requests a second
    return ids


def _tracks_gone(deployment) -> None:
    wait_for(lambda: not tracks.track_keys(deployment.pk), 10, message="the camera's tracks to end")


def _one_alert_for_the_watchlisted_person(deployment, scene, ids, *, restarted=False):
    """`restarted`: the worker was killed and came back after longer than the tracks' TTL, so the camera's tracks
    were dropped and started again (the person's later frames make new tracks that join the same alert)."""
    alert = Alert.objects.select_related("entry").get()
    assert alert.entry.subject_ref == subject_ref("person01")
    assert alert.camera == CAMERA and alert.confirmation_frames == 2
    showing = [ids[i] for i in scene.frames_showing(WATCHLISTED)]
    if restarted:
        seen = set(alert.sightings.values_list("frame_id", flat=True))
        # A track cut short by the restart may end with one frame above threshold (k = 2: not confirmed).
        assert seen <= set(showing) and len(seen) >= len(showing) - 4 and alert.sighting_count == len(seen)
        counters = counters_of(deployment)
        assert counters.alerts == 1 and counters.tracks >= 3 and counters.tracks_alerted >= 2
        return alert
    # Every frame of both appearances is a sighting of the one alert; no frame of the stranger alone is.
    assert sorted(alert.sightings.values_list("frame_id", flat=True)) == sorted(showing)
    assert alert.sighting_count == len(showing) == 33
    first, last = scene.appearances(WATCHLISTED)[0][0], scene.appearances(WATCHLISTED)[-1][1]
    assert alert.last_seen_at - alert.captured_at == timedelta(seconds=round(scene.times[last] - scene.times[first], 6))
    counters = counters_of(deployment)
    # Three passers-by (tracks): the watchlisted person twice and the stranger; two tracks confirmed, one alert.
    assert (counters.tracks, counters.candidates, counters.tracks_alerted, counters.alerts) == (3, 2, 2, 1)
    assert counters.sightings == 33
    assert counters.faces_detected == len(scene.frames_showing(WATCHLISTED)) + len(scene.frames_showing(STRANGER))
    assert counters.embeddings < counters.faces_detected  # identified tracks were not embedded on every frame
    return alert


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_alert_per_person_through_a_real_worker_and_nothing_left_when_the_tracks_end(
        celery_worker_process, k2, node, post_frame, scene):
    ids = _post_scene(post_frame, node, scene)
    wait_for(lambda: counters_of(k2).frames_deleted == len(scene), 90, message="the worker to finish every frame")
    _tracks_gone(k2)
    _one_alert_for_the_watchlisted_person(k2, scene, ids)
    assert frames.payload_keys() == [] and tracks.track_keys() == []
    call_command("verify_no_residue", deployment=k2.pk, frame_ids=list(ids.values()))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_out_of_order_a_duplicate_and_a_worker_killed_mid_track_still_make_one_alert(
        celery_worker_process, k2, node, post_frame, scene, settings):
    settings.LFR_EDGE_MAX_FRAMES_PER_SECOND = 1000  # (the edge API runs here) frames queue faster than they match
    # The whole scene is queued at once, which admission control would refuse once it is more than 3 s of the worker's
    # work: this test is about order, a duplicate and a kill, so the queue may hold the lot (payloads live 120 s).
    settings.LFR_FRAME_PAYLOAD_TTL_SECONDS, settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS = 120, 60
    order = list(range(len(scene)))
    rng = random.Random(3)
    for i in range(0, len(order) - 1, 4):  # pairs of neighbouring frames swapped here and there
        if rng.random() < 0.7:
            order[i], order[i + 1] = order[i + 1], order[i]
    half = len(order) // 2
    base = timezone.now() - timedelta(seconds=scene.times[-1] + 1)
    ids = _post_scene(post_frame, node, scene, order=order[:half], pause=0.02, base=base)
    # The worker's pool child is killed (-9) while it works through the queued frames: its frame goes back to the
    # queue and is matched again from the tracks as they were before it.
    wait_for(lambda: counters_of(k2).frames_deleted >= 3, 60, message="the worker to start on the frames")
    child = psutil.Process(celery_worker_process.pid).children()[0]
    os.kill(child.pid, signal.SIGKILL)
    # The rest, and one frame again (a duplicate, refused).
    _post_scene(post_frame, node, scene, order=order[half:], base=base, pause=0.02)
    again = post_frame(node.token, scene.jpegs()[order[0]], frame_id=ids[order[0]], camera=CAMERA)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_frame"
    wait_for(lambda: counters_of(k2).frames_deleted == len(scene), 120, message="the worker to finish every frame")
    _tracks_gone(k2)
    _one_alert_for_the_watchlisted_person(k2, scene, ids, restarted=True)
    assert counters_of(k2).frames_processed == len(scene)
    call_command("verify_no_residue", deployment=k2.pk, frame_ids=list(ids.values()))


# --- The same code in process (no worker): the rule and the merge window -------------------------------------


def _run_in_process(post_frame, node, published, scene, frame_indices, *, run, settings=None):
    """Posts the frames and runs each queued message through the pipeline here, in order (the node's rate limit
    lifted: this is not about the edge API)."""
    base = timezone.now() - timedelta(seconds=scene.times[-1] + 1)
    jpegs = scene.jpegs()
    ids = {}
    for index in frame_indices:
        ids[index] = f"{run}-{index:03d}"
        assert post_frame(node.token, jpegs[index], frame_id=ids[index], camera=CAMERA,
                          captured_at=base + timedelta(seconds=scene.times[index])).status_code == 202
    for message in published:
        assert pipeline.frame_process(**message).status == "processed"
    published.clear()
    return ids


@pytest.mark.django_db(transaction=True)
def test_outside_the_merge_window_each_appearance_is_its_own_alert(k2, node, post_frame, published, scene,
                                                                   settings, fresh_worker_memory):
    settings.LFR_ALERT_MERGE_SECONDS = 2  # shorter than the scene's 3 s gap
    settings.LFR_EDGE_MAX_FRAMES_PER_SECOND = 1000
    ids = _run_in_process(post_frame, node, published, scene, range(len(scene)), run="m")
    alerts = list(Alert.objects.order_by("captured_at"))
    assert len(alerts) == 2 and {a.entry.subject_ref for a in alerts} == {subject_ref("person01")}
    for alert, (first, last) in zip(alerts, scene.appearances(WATCHLISTED), strict=True):
        assert alert.sighting_count == last - first + 1
        assert sorted(alert.sightings.values_list("frame_id", flat=True)) == [ids[i] for i in range(first, last + 1)]
    counters = counters_of(k2)
    assert (counters.tracks, counters.candidates, counters.tracks_alerted, counters.alerts) == (3, 2, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_k2_refuses_a_face_above_threshold_in_one_frame_only_and_counts_the_candidate(
        k2, node, post_frame, published, scene, fresh_worker_memory):
    first = scene.frames_showing(WATCHLISTED)[0]
    _run_in_process(post_frame, node, published, scene, [first], run="k")
    assert not Alert.objects.exists()
    counters = counters_of(k2)
    assert (counters.tracks, counters.candidates, counters.tracks_alerted, counters.alerts) == (1, 1, 0, 0)
    # The candidate's track ends (its gap passes with no frame) and its template goes with it.
    report = residue_find(deployment=k2, frame_ids=[f"k-{first:03d}"])
    assert report.clean, report.findings


@pytest.mark.django_db(transaction=True)
def test_k1_alerts_on_the_first_frame_as_authorised(live, node, post_frame, published, scene, fresh_worker_memory):
    first = scene.frames_showing(WATCHLISTED)[0]
    _run_in_process(post_frame, node, published, scene, [first], run="one")
    alert = Alert.objects.get()
    assert alert.confirmation_frames == 1 and alert.sighting_count == 1 and alert.frame_id == f"one-{first:03d}"
