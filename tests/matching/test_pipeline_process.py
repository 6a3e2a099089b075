"""The worker's task body run in this process: alerts at or above the threshold, everything else dropped,
idempotent per frame, and nothing written to the database, the media folder or a temporary file."""

import builtins
import io
import os
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import pytest
from django.conf import settings

from deployments import services as deployment_services
from lfr_governance.audit.models import AuditEvent
from matching import frames, tracks, pipeline
from matching.models import Alert, DeletionLatencyBucket
from tools.residue import residue_find
from watchlists.models import ReferenceImage

from .conftest import counters_of, jpeg_of, subject_ref

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] == "alerts"]


def test_a_watchlisted_face_makes_one_alert_and_the_frame_is_gone(live, node, post_frame, face_bytes, published):
    before = set(_media_files())
    assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-1").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.alerts) == ("processed", 1, 1)
    alert = Alert.objects.get()
    assert alert.entry.subject_ref == subject_ref("person01") and alert.score >= alert.threshold == live.threshold
    assert alert.pack_id == "yunet-sface" and alert.imaging == "colour" and alert.frame_id == "p-1"
    assert alert.camera.startswith("mast-1") and alert.edge_node == node and alert.reference_image is not None
    new_files = set(_media_files()) - before
    assert [Path(alert.probe_image.path)] == list(new_files)
    probe = cv2.imdecode(__import__("numpy").frombuffer(Path(alert.probe_image.path).read_bytes(), "uint8"), 1)
    assert max(probe.shape[:2]) <= pipeline.PROBE_MAX_SIDE
    assert frames.payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_processed, counters.frames_deleted, counters.faces_detected,
            counters.templates_compared, counters.alerts) == (1, 1, 1, 1, 1, 1)
    assert 0 < counters.deletion_ms_max == counters.deletion_ms_total < 1000
    assert sum(DeletionLatencyBucket.objects.filter(deployment=live).values_list("frames", flat=True)) == 1
    assert len(frames.deletion_samples(live.pk)) == 1
    row = AuditEvent.objects.get(event="alert.create")
    assert row.target_id == str(alert.pk) and row.subject_ref == alert.entry.subject_ref
    assert row.edge_node_ref == node.token_prefix and "p-1" not in str(row.changes)


def test_a_face_not_on_the_watchlist_leaves_only_counts(live, node, post_frame, face_bytes, published):
    assert post_frame(node.token, jpeg_of(face_bytes("img22.jpg")), frame_id="p-2").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.alerts) == ("processed", 1, 0)
    assert not Alert.objects.exists() and _media_files() == [] and frames.payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_processed, counters.frames_deleted, counters.faces_detected, counters.alerts) == (
        1, 1, 1, 0)
    assert residue_find(deployment=live, frame_ids=["p-2"]).clean


def test_a_redelivered_frame_is_processed_once(live, node, post_frame, face_bytes, published):
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-3")
    assert pipeline.frame_process(**published[0]).status == "processed"
    assert pipeline.frame_process(**published[0]).status == "duplicate"
    assert Alert.objects.count() == 1
    counters = counters_of(live)
    assert (counters.frames_processed, counters.frames_deleted, counters.alerts) == (1, 1, 1)


def test_a_frame_rerun_before_it_was_finished_makes_no_second_alert(live, node, post_frame, face_bytes, published,
                                                                     monkeypatch):
    """A worker that died after writing the alert but before deleting the payload: the rerun finds the alert."""
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-4")
    real_finish = frames.frame_finish
    monkeypatch.setattr(frames, "frame_finish", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        pipeline.frame_process(**published[0])
    monkeypatch.setattr(frames, "frame_finish", real_finish)
    assert Alert.objects.count() == 1 and len(frames.payload_keys()) == 1
    assert pipeline.frame_process(**published[0]).status == "processed"
    assert Alert.objects.count() == 1 and frames.payload_keys() == []
    assert counters_of(live).alerts == 1


def test_two_runs_racing_on_one_frame_leave_one_alert_and_no_stray_probe(live, node, post_frame, face_bytes,
                                                                          published, monkeypatch):
    """The second run missed the first's alert when it looked (a race): its insert fails on the unique
    (node, camera, track, entry), its transaction rolls back and its probe file is removed."""
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-race")
    message = published[0]
    assert pipeline.frame_process(**message).status == "processed"
    first = Alert.objects.get()
    probes_before = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    frames.client().delete(frames.done_key(node.pk, "p-race"))  # as if the second run began before the first ended
    # ... from the tracks as they were before the frame
    frames.client().delete(tracks.tracks_key(live.pk, node.pk, message["camera"]))
    frames.payload_store(live.pk, node.pk, "p-race", frames.encode_frame(jpeg_of(face_bytes("img2.jpg"))))
    monkeypatch.setattr(Alert.objects, "select_for_update", lambda *a, **k: Alert.objects.none())
    assert pipeline.frame_process(**message).status == "failed"
    monkeypatch.undo()
    assert list(Alert.objects.all()) == [first]
    assert sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()) == probes_before
    assert frames.payload_keys() == []


def test_a_frame_whose_payload_expired_is_counted_deleted_not_processed(live, node, post_frame, face_bytes,
                                                                         published):
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-5")
    frames.client().delete(frames.payload_key(live.pk, node.pk, "p-5"))  # as its TTL would
    assert pipeline.frame_process(**published[0]).status == "expired"
    counters = counters_of(live)
    assert (counters.frames_processed, counters.frames_deleted) == (0, 1) and not Alert.objects.exists()


def test_frames_queued_before_a_deployment_ended_are_dropped_unmatched(live, node, post_frame, face_bytes, published,
                                                                       dep_people):
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-6")
    deployment_services.deployment_end(deployment=live, actor=dep_people["owner"], reason="ended early")
    assert pipeline.frame_process(**published[0]).status == "skipped"
    assert not Alert.objects.exists() and frames.payload_keys() == []
    assert counters_of(live).frames_deleted == 1


def test_templates_that_no_longer_make_the_authorised_digest_stop_matching(live, node, post_frame, face_bytes,
                                                                            published):
    image = ReferenceImage.objects.filter(entry__version=live.watchlist_version).first()
    ReferenceImage.objects.filter(pk=image.pk).update(template=bytes(image.template)[::-1])
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="p-7")
    assert pipeline.frame_process(**published[0]).status == "skipped"
    assert not Alert.objects.exists() and frames.payload_keys() == []
    refused = AuditEvent.objects.get(event="matching.deployment_refused")
    assert refused.deployment_id == live.pk and "digest" in refused.changes["problem"]


def test_a_greyscale_frame_is_matched_at_the_authorised_greyscale_threshold(live, node, post_frame, face_bytes,
                                                                            published):
    post_frame(node.token, jpeg_of(face_bytes("img2.jpg"), greyscale=True), frame_id="p-8")
    assert pipeline.frame_process(**published[0]).alerts == 1
    alert = Alert.objects.get()
    # (test_greyscale_threshold.py tests the two thresholds apart)
    expected = live.threshold if live.threshold_greyscale is None else live.threshold_greyscale
    assert alert.imaging == "greyscale" and alert.threshold == expected


def test_detections_with_landmarks_or_without_make_alerts(live, node, client, face_bytes, published):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from lfr_governance.faces import get_engine
    from lfr_governance.faces import decode_image

    crop = jpeg_of(face_bytes("img2.jpg"), size=(300, 300))
    face = get_engine().detect(decode_image(crop))[0]
    landmarks = [face.landmarks.tolist(), None]
    data = {"crops": [SimpleUploadedFile("a.jpg", crop, "image/jpeg"), SimpleUploadedFile("b.jpg", crop, "image/jpeg")],
            "landmarks": json.dumps(landmarks), "frame_id": "d-1", "captured_at": timezone.now().isoformat(),
            "camera": "mast-1"}
    assert client.post("/api/edge/v1/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}").status_code == 202
    result = pipeline.frame_process(**published[0])
    # Two crops of one person in one request: two faces, one passer-by's alert with both as sightings.
    assert (result.faces, result.alerts, result.sightings) == (2, 1, 2)
    alert = Alert.objects.get()
    assert alert.sighting_count == 2
    assert sorted(alert.sightings.values_list("face_index", flat=True)) == [0, 1]
    assert frames.payload_keys() == []


def test_no_frame_bytes_reach_a_temp_file_the_media_folder_or_the_database(live, node, post_frame, face_bytes,
                                                                           published, monkeypatch, tmp_path):
    """From the POST to the end of processing, no temporary file can be made and nothing is opened for writing
    except the one alert's probe crop in the media folder."""
    marker = f"LFR-PROBE-{uuid.uuid4().hex}"  # made now: in no source file
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def refuse_temp(*args, **kwargs):
        raise AssertionError("a temporary file was requested while a frame was handled")

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in str(mode) for flag in "wax+") and not isinstance(file, int):  # an fd: os.open saw it
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(str(path))
        return real_os_open(path, flags, *args, **kwargs)

    frames_sent = {"match": jpeg_of(face_bytes("img2.jpg"), marker=marker),
                   "no-match": jpeg_of(face_bytes("img29.jpg"), marker=marker)}
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile",
                 "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, refuse_temp)
    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for frame_id, jpeg in frames_sent.items():
        assert post_frame(node.token, jpeg, frame_id=frame_id).status_code == 202
    for message in published:
        assert pipeline.frame_process(**message).status == "processed"
    monkeypatch.undo()

    alert = Alert.objects.get()
    assert alert.frame_id == "match"
    assert writes == [alert.probe_image.path], writes
    assert marker.encode() not in Path(alert.probe_image.path).read_bytes()  # re-encoded crop, not the frame
    report = residue_find(deployment=live, frame_ids=list(frames_sent), markers=[marker])
    assert report.clean, report.findings


def test_a_worker_forgets_the_gallery_of_a_deployment_it_no_longer_hears_of(live, node, post_frame, face_bytes,
                                                                           published, monkeypatch):
    post_frame(node.token, jpeg_of(face_bytes("img22.jpg")), frame_id="p-9")
    pipeline.frame_process(**published[0])
    assert len(pipeline._galleries) == 1
    pipeline.galleries_forget_stale()
    assert len(pipeline._galleries) == 1  # still in use
    later = pipeline.time.monotonic() + pipeline.CONTEXT_FORGET_SECONDS + 1
    monkeypatch.setattr(pipeline.time, "monotonic", lambda: later)
    pipeline.galleries_forget_stale()
    assert pipeline._galleries == {} and pipeline._contexts == {}


@pytest.mark.parametrize("bad_landmarks", [
    [[float("nan"), 90.0]] * 5,  # numpy's SVD does not converge: LinAlgError
    [[1e308, 1e308]] * 5,
    [[150.0, 150.0]] * 5,  # all in one point
], ids=["nan", "1e308", "identical"])
def test_a_crop_whose_landmarks_cannot_align_is_dropped_and_the_rest_of_the_frame_matched(
        live, node, client, face_bytes, published, bad_landmarks):
    """Landmarks the edge API would refuse, in a payload queued without that check (an older web process): the
    worker skips that crop, matches the others, and finishes and counts the frame."""
    from lfr_governance.faces import decode_image, get_engine

    crop = jpeg_of(face_bytes("img2.jpg"), size=(300, 300))
    good = get_engine().detect(decode_image(crop))[0].landmarks.tolist()
    assert post_frame_detections(client, node, crop, good, "d-bad") == 202
    message = published[0]
    frames.payload_store(live.pk, node.pk, "d-bad", frames.encode_detections(
        [frames.DetectionCrop(crop, bad_landmarks), frames.DetectionCrop(crop, good)]))
    result = pipeline.frame_process(**message)
    assert (result.status, result.faces, result.alerts) == ("processed", 1, 1)
    assert list(Alert.objects.values_list("face_index", flat=True)) == [0]
    assert frames.payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_processed, counters.frames_deleted, counters.faces_detected,
            counters.alerts) == (1, 1, 1, 1, 1)


def test_a_frame_whose_alignment_fails_outright_is_still_finished_and_counted(live, node, client, face_bytes,
                                                                              published, monkeypatch):
    from lfr_governance.faces import decode_image, get_engine

    import numpy as np

    crop = jpeg_of(face_bytes("img2.jpg"), size=(300, 300))
    good = get_engine().detect(decode_image(crop))[0].landmarks.tolist()
    assert post_frame_detections(client, node, crop, good, "d-fail") == 202
    engine = get_engine()

    def failing(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(engine, "align", failing)
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.alerts) == ("processed", 0, 0)
    assert frames.payload_keys() == [] and not Alert.objects.exists()
    counters = counters_of(live)
    assert (counters.frames_processed, counters.frames_deleted, counters.faces_detected) == (1, 1, 0)


def post_frame_detections(client, node, crop: bytes, landmarks, frame_id: str) -> int:
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    data = {"crops": [SimpleUploadedFile("a.jpg", crop, "image/jpeg")], "landmarks": json.dumps([landmarks]),
            "frame_id": frame_id, "captured_at": timezone.now().isoformat(), "camera": "mast-1"}
    return client.post("/api/edge/v1/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}").status_code


def test_a_frame_waits_for_postgresql_instead_of_being_dropped(live, node, post_frame, face_bytes, published,
                                                                monkeypatch):
    """PostgreSQL restarting while a watchlisted frame is matched: the frame waits (here two failed writes) and
    makes its alert once the database is back; nothing is dropped."""
    from django.db import OperationalError

    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="pg-1")
    real_write, failures = pipeline._alerts_write, []

    def flaky_write(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("the database system is shutting down")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_alerts_write", flaky_write)
    monkeypatch.setattr(pipeline.time, "sleep", lambda seconds: None)
    result = pipeline.frame_process(**published[0])
    assert result.status == "processed" and result.alerts == 1 and len(failures) == 2
    assert Alert.objects.get().frame_id == "pg-1" and frames.payload_keys() == []
    assert counters_of(live).alerts == 1


def test_a_frame_gives_up_on_postgresql_only_when_its_payload_would_have_expired(live, node, post_frame, face_bytes,
                                                                                  published, monkeypatch):
    from django.db import OperationalError

    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="pg-2")
    message = dict(published[0], received_at=time.time() - settings.LFR_FRAME_PAYLOAD_TTL_SECONDS)  # nearly expired
    monkeypatch.setattr(pipeline, "_alerts_write", lambda *a, **k: (_ for _ in ()).throw(OperationalError("down")))
    assert pipeline.frame_process(**message).status == "failed"
    assert not Alert.objects.exists() and frames.payload_keys() == []


def test_counts_of_a_frame_finished_by_a_worker_that_died_are_written_on_redelivery(live, node, post_frame,
                                                                                     face_bytes, published,
                                                                                     monkeypatch):
    """Killed after the frame was finished (payload gone, tracks saved) but before its counts were written: the
    done marker carries the counts, the redelivered message writes them, once."""
    from matching import counts as frame_counts

    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="c-1")
    real = frame_counts.frame_finished
    monkeypatch.setattr(frame_counts, "frame_finished", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        pipeline.frame_process(**published[0])
    monkeypatch.setattr(frame_counts, "frame_finished", real)
    assert frames.payload_keys() == [] and counters_of(live).frames_deleted == 0
    assert pipeline.frame_process(**published[0]).status == "duplicate"
    counters = counters_of(live)
    assert (counters.frames_processed, counters.frames_deleted, counters.alerts) == (1, 1, 1)
    assert pipeline.frame_process(**published[0]).status == "duplicate"  # a third delivery adds nothing
    assert counters_of(live).frames_deleted == 1
