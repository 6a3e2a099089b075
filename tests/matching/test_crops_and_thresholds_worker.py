"""Through the edge API and a real Celery worker: tight crops without landmarks found and matched, a crop with no
face counted in crops_without_face (and shown on the deployment page), and greyscale frames matched at the
deployment's greyscale threshold."""

import pytest

from deployments.models import Deployment
from matching import frames
from matching.models import Alert

from .conftest import counters_of, jpeg_of, subject_ref, wait_for
from .test_crops_pipeline import grey_crop, post_detections, tight_crop, utk_crop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_crops_without_landmarks_are_matched_or_counted_without_a_face(celery_worker_process, live, node, client,
                                                                      faces_dir, face_bytes, dep_people, make_user):
    Deployment.objects.filter(pk=live.pk).update(threshold=0.5, threshold_greyscale=0.5)
    assert post_detections(client, node, [utk_crop(faces_dir), grey_crop()], "w-mixed",
                           camera="mast-w1").status_code == 202
    assert post_detections(client, node, [tight_crop(face_bytes("img2.jpg"))], "w-tight",
                           camera="mast-w2").status_code == 202
    wait_for(lambda: counters_of(live).frames_deleted == 2, 60, message="the worker to finish both requests")
    counters = counters_of(live)
    assert (counters.frames_processed, counters.faces_detected, counters.crops_without_face, counters.alerts) == (
        2, 2, 1, 1)
    alert = Alert.objects.get()
    assert alert.frame_id == "w-tight" and alert.entry.subject_ref == subject_ref("person01")
    assert frames.payload_keys() == []

    client.force_login(dep_people["owner"])
    page = client.get(f"/deployments/{live.pk}/").content.decode()
    assert "Crops in which no face was found" in page
    assert 'data-testid="figure-crops_without_face">1<' in page
    # The data protection officer's retention report carries it with the rest of the deletion evidence.
    from lfr_governance.accounts.choices import Role

    client.force_login(make_user("dpo-crops", Role.DPO))
    report = client.get("/retention/", {"deployment": str(live.pk)}).content.decode()
    assert "2 faces detected; 1 crop in which no face was found;" in report


def test_a_greyscale_frame_alerts_at_the_greyscale_threshold_and_a_colour_one_does_not(celery_worker_process, live,
                                                                                        node, post_frame, face_bytes):
    Deployment.objects.filter(pk=live.pk).update(threshold=0.9, threshold_greyscale=0.3)
    photo = face_bytes("img2.jpg")
    assert post_frame(node.token, jpeg_of(photo), frame_id="w-colour").status_code == 202
    assert post_frame(node.token, jpeg_of(photo, greyscale=True), frame_id="w-grey").status_code == 202
    wait_for(lambda: counters_of(live).frames_deleted == 2, 60, message="the worker to finish both frames")
    assert counters_of(live).faces_detected == 2
    alert = Alert.objects.get()
    assert (alert.frame_id, alert.imaging, alert.threshold) == ("w-grey", "greyscale", 0.3)
    assert alert.entry.subject_ref == subject_ref("person01") and 0.3 <= alert.score < 0.9
