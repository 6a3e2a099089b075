"""Two authorised thresholds: greyscale (night-mode) frames are matched at the deployment's greyscale threshold,
colour frames at its colour threshold; each alert records the threshold applied and the frame's condition."""

import uuid

import pytest

from deployments.models import Deployment
from matching import pipeline
from matching.models import Alert

from .conftest import counters_of, jpeg_of, subject_ref

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]

# img2 (person01) scores about 0.7 against person01's enrolment image, in colour and in greyscale alike: above 0.3,
# below 0.9.
HIGH, LOW = 0.9, 0.3


def _thresholds(deployment, *, colour: float, greyscale: float | None) -> None:
    Deployment.objects.filter(pk=deployment.pk).update(threshold=colour, threshold_greyscale=greyscale)


@pytest.mark.parametrize("colour, greyscale, alerting", [
    (HIGH, LOW, "greyscale"),
    (LOW, HIGH, "colour"),
], ids=["low-greyscale-threshold", "low-colour-threshold"])
def test_each_frame_is_matched_at_its_conditions_threshold(live, node, post_frame, face_bytes, published, colour,
                                                           greyscale, alerting):
    _thresholds(live, colour=colour, greyscale=greyscale)
    photo = face_bytes("img2.jpg")
    for condition in ("colour", "greyscale"):
        assert post_frame(node.token, jpeg_of(photo, greyscale=condition == "greyscale"),
                          frame_id=f"t-{condition}").status_code == 202
    results = {message["frame_id"]: pipeline.frame_process(**message) for message in published}
    assert {fid: (r.status, r.faces) for fid, r in results.items()} == {
        "t-colour": ("processed", 1), "t-greyscale": ("processed", 1)}
    alert = Alert.objects.get()
    assert alert.frame_id == f"t-{alerting}" and alert.entry.subject_ref == subject_ref("person01")
    assert alert.imaging == alerting and alert.threshold == LOW <= alert.score < HIGH
    assert counters_of(live).alerts == 1


def test_an_application_without_a_greyscale_threshold_matches_greyscale_frames_at_its_colour_threshold(
        live, node, post_frame, face_bytes, published):
    _thresholds(live, colour=HIGH, greyscale=None)
    assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg"), greyscale=True)).status_code == 202
    assert pipeline.frame_process(**published[0]).faces == 1
    assert not Alert.objects.exists()
    _thresholds(live, colour=LOW, greyscale=None)
    pipeline._contexts.clear()  # the worker re-reads the deployment within a second; here at once
    assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg"), greyscale=True)).status_code == 202
    assert pipeline.frame_process(**published[1]).alerts == 1
    alert = Alert.objects.get()
    assert alert.imaging == "greyscale" and alert.threshold == LOW


@pytest.mark.parametrize("first, then", [("colour", "greyscale"), ("greyscale", "colour")])
def test_a_camera_switching_condition_mid_track_is_judged_frame_by_frame(live, node, post_frame, face_bytes,
                                                                         published, first, then):
    """One passer-by on one camera (k = 2): a frame in the condition whose threshold they miss, then two in the
    other. The track survives the switch and alerts at the second condition's threshold, from its two frames."""
    Deployment.objects.filter(pk=live.pk).update(confirmation_frames=2)
    thresholds = {first: HIGH, then: LOW}
    _thresholds(live, colour=thresholds["colour"], greyscale=thresholds["greyscale"])
    camera = f"mast-switch {uuid.uuid4().hex[:6]}"
    photo = face_bytes("img2.jpg")
    for n, condition in enumerate((first, then, then)):
        assert post_frame(node.token, jpeg_of(photo, greyscale=condition == "greyscale"), frame_id=f"s-{n}",
                          camera=camera).status_code == 202
    results = [pipeline.frame_process(**message) for message in published]
    assert [r.status for r in results] == ["processed"] * 3
    assert [r.alerts for r in results] == [0, 0, 1] and sum(r.tracks for r in results) == 1
    alert = Alert.objects.get()
    assert alert.imaging == then and alert.threshold == LOW and alert.frame_id == "s-2"
    assert sorted(alert.sightings.values_list("frame_id", flat=True)) == ["s-1", "s-2"]
