"""Crops an edge node sends without landmarks: the face is found with a border around the tight crop and aligned
in the bordered crop; a crop in which no face was found (or whose landmarks are unusable, or that cannot be
aligned) is counted in crops_without_face, through the frame's counts and its done marker."""

import csv
import json

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from deployments.models import Deployment
from lfr_governance.faces import decode_image, get_engine
from matching import frames, pipeline
from matching.models import Alert

from .conftest import counters_of, jpeg_of, subject_ref

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]

THRESHOLD = 0.5  # img2's tight crop scores about 0.58 against person01's enrolment image


def _jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


def tight_crop(photo: bytes, side: int = 200) -> bytes:
    """The face cut at the detector's box in a camera frame and scaled to side x side: as an edge node sends it."""
    frame = decode_image(jpeg_of(photo))
    x1, y1, x2, y2 = (int(v) for v in get_engine().detect(frame)[0].box)
    return _jpeg(cv2.resize(frame[y1:y2, x1:x2], (side, side), interpolation=cv2.INTER_AREA))


def utk_crop(faces_dir, index: int = 0) -> bytes:
    """A 200x200 UTKFace chip: a face filling the crop."""
    with (faces_dir / "utk-dev" / "labels.csv").open() as fh:
        path = list(csv.DictReader(fh))[index]["path"]
    data = (faces_dir / "utk-dev" / path).read_bytes()
    assert decode_image(data).shape[:2] == (200, 200)
    return data


def grey_crop(side: int = 200) -> bytes:
    return _jpeg(np.full((side, side, 3), 128, dtype=np.uint8))


def post_detections(client, node, crops: list[bytes], frame_id: str, landmarks=None, camera: str = "mast-crops"):
    data = {"crops": [SimpleUploadedFile(f"{i}.jpg", crop, "image/jpeg") for i, crop in enumerate(crops)],
            "landmarks": json.dumps(landmarks or [None] * len(crops)), "frame_id": frame_id,
            "captured_at": timezone.now().isoformat(), "camera": camera}
    return client.post("/api/edge/v1/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}")


@pytest.fixture
def at_threshold(live):
    Deployment.objects.filter(pk=live.pk).update(threshold=THRESHOLD, threshold_greyscale=THRESHOLD)
    return live


def test_a_tight_crop_without_landmarks_is_found_aligned_in_its_border_and_matched(at_threshold, node, client,
                                                                                   face_bytes, published):
    assert post_detections(client, node, [tight_crop(face_bytes("img2.jpg"))], "c-tight").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.alerts, result.crops_without_face) == ("processed", 1, 1, 0)
    alert = Alert.objects.get()
    assert alert.entry.subject_ref == subject_ref("person01") and alert.score >= THRESHOLD
    # The probe crop is the crop's own pixels, not the black border added to find the face.
    probe = cv2.imdecode(np.frombuffer(alert.probe_image.read(), np.uint8), cv2.IMREAD_COLOR)
    assert probe.shape[0] <= 200 and probe.shape[1] <= 200 and float(probe.mean()) > 40
    counters = counters_of(at_threshold)
    assert (counters.faces_detected, counters.crops_without_face, counters.alerts) == (1, 0, 1)


def test_a_utkface_crop_counts_as_a_face_and_a_plain_grey_one_as_a_crop_without_a_face(at_threshold, node, client,
                                                                                       faces_dir, published):
    assert post_detections(client, node, [utk_crop(faces_dir), grey_crop()], "c-mixed").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.crops_without_face, result.alerts) == ("processed", 1, 1, 0)
    counters = counters_of(at_threshold)
    assert (counters.frames_processed, counters.frames_deleted, counters.faces_detected, counters.templates_compared,
            counters.crops_without_face) == (1, 1, 1, 1, 1)
    assert frames.payload_keys() == [] and not Alert.objects.exists()


@pytest.mark.parametrize("bad_landmarks", [[[float("nan"), 90.0]] * 5, [[150.0, 150.0]] * 5], ids=["nan", "one-point"])
def test_a_crop_whose_landmarks_are_unusable_is_counted_without_a_face(at_threshold, node, client, face_bytes,
                                                                      published, bad_landmarks):
    """Landmarks the edge API would refuse, in a payload queued without that check: counted, not matched."""
    crop = jpeg_of(face_bytes("img2.jpg"), size=(300, 300))
    good = get_engine().detect(decode_image(crop))[0].landmarks.tolist()
    assert post_detections(client, node, [crop], "c-bad", landmarks=[good]).status_code == 202
    frames.payload_store(at_threshold.pk, node.pk, "c-bad", frames.encode_detections(
        [frames.DetectionCrop(crop, bad_landmarks), frames.DetectionCrop(crop, good)]))
    result = pipeline.frame_process(**published[0])
    assert (result.faces, result.alerts, result.crops_without_face) == (1, 1, 1)
    assert counters_of(at_threshold).crops_without_face == 1


def test_a_crop_that_cannot_be_aligned_is_counted_without_a_face(at_threshold, node, client, face_bytes, published,
                                                                monkeypatch):
    engine = get_engine()

    def failing(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(engine, "align", failing)  # the engine's own fault, as a degenerate face would raise it
    assert post_detections(client, node, [tight_crop(face_bytes("img2.jpg"))], "c-align").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.crops_without_face) == ("processed", 0, 1)
    assert counters_of(at_threshold).crops_without_face == 1


def test_crops_without_a_face_travel_in_the_done_marker_until_written(at_threshold, node, client, published,
                                                                      monkeypatch):
    """A worker killed after finishing the frame but before counting it: the redelivered message writes the count."""
    from matching import counts as frame_counts

    assert post_detections(client, node, [grey_crop(), grey_crop(160)], "c-done").status_code == 202
    real = frame_counts.frame_finished
    monkeypatch.setattr(frame_counts, "frame_finished", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        pipeline.frame_process(**published[0])
    monkeypatch.setattr(frame_counts, "frame_finished", real)
    assert counters_of(at_threshold).crops_without_face == 0
    assert json.loads(frames.client().get(frames.done_key(node.pk, "c-done")))["crops_without_face"] == 2
    assert pipeline.frame_process(**published[0]).status == "duplicate"
    assert counters_of(at_threshold).crops_without_face == 2


def test_a_done_marker_written_before_crops_were_counted_still_writes(at_threshold, node, client, published):
    """A marker from a worker of the previous release carries no crops_without_face: it counts as none."""
    assert post_detections(client, node, [grey_crop()], "c-old").status_code == 202
    old = {"processed": True, "faces": 0, "alerts": 0, "deletion_ms": 12.0, "tracks": 0, "candidates": 0,
           "tracks_alerted": 0, "sightings": 0, "embeddings": 0}
    frames.frame_finish(at_threshold.pk, node.pk, "c-old", 12.0, counts=json.dumps(old).encode())
    assert pipeline.frame_process(**published[0]).status == "duplicate"
    counters = counters_of(at_threshold)
    assert (counters.frames_deleted, counters.crops_without_face) == (1, 0)
