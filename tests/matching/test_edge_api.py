"""The edge API: what it accepts (queued in memory only), and each refusal (a JSON reason, nothing stored,
counted on the deployment where one is known)."""

import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from deployments import selectors as deployment_selectors
from deployments import services as deployment_services
from matching import frames

from .conftest import EDGE, counters_of, jpeg_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def frame(face_bytes):
    return jpeg_of(face_bytes("img2.jpg"))


def _payload_keys():
    return frames.payload_keys()


def _assert_refused(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


def test_a_frame_is_queued_with_its_bytes_in_redis_only(live, node, post_frame, frame, published):
    response = post_frame(node.token, frame, frame_id="cam1-000001")
    assert response.status_code == 202, response.content
    assert response.json() == {"frame_id": "cam1-000001", "status": "queued", "deployment": live.pk}
    # The task message carries ids and times, never the image.
    assert len(published) == 1
    message = published[0]
    assert set(message) == {"deployment_id", "node_id", "frame_id", "captured_at", "received_at", "camera"}
    assert len(json.dumps(message)) < 500
    # The frame waits in Redis under its TTL.
    (key, ttl), = _payload_keys()
    assert key == frames.payload_key(live.pk, node.pk, "cam1-000001") and 0 < ttl <= 60
    assert frames.client().get(key)[1:] == frame
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused) == (1, 0)


def test_a_repeated_frame_id_is_answered_as_a_duplicate_and_queued_once(live, node, post_frame, frame, published):
    assert post_frame(node.token, frame, frame_id="dup-1").status_code == 202
    _assert_refused(post_frame(node.token, frame, frame_id="dup-1"), 409, "duplicate_frame")
    assert len(published) == 1 and len(_payload_keys()) == 1
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused) == (1, 1)


def test_unknown_missing_and_revoked_tokens_are_refused(live, node, post_frame, frame, published, client,
                                                         dep_people):
    body = _assert_refused(post_frame("lfr_not-a-real-token", frame), 401, "authentication_failed")
    assert "unknown or revoked" in body["detail"]
    response = client.post(f"{EDGE}/frames", {"frame_id": "x", "camera": "c"})
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    deployment_services.edge_node_revoke(actor=dep_people["admin"], node=node)
    _assert_refused(post_frame(node.token, frame), 401, "authentication_failed")
    _assert_refused(client.get(f"{EDGE}/status", HTTP_AUTHORIZATION=f"Bearer {node.token}"), 401,
                    "authentication_failed")
    assert published == [] and _payload_keys() == []
    assert counters_of(live).frames_received == 0


def test_a_node_whose_deployment_is_not_live_is_refused(scheduled, node, post_frame, frame, published):
    body = _assert_refused(post_frame(node.token, frame), 403, "not_live")
    assert "not bound to a deployment that is live" in body["detail"]
    assert published == [] and _payload_keys() == []
    counters = counters_of(scheduled)
    assert (counters.frames_received, counters.frames_refused) == (0, 1)


def test_a_node_bound_to_no_deployment_is_refused(dep_people, post_frame, frame, published):
    loose, token = deployment_services.edge_node_register(actor=dep_people["admin"], name="Spare box",
                                                          camera_description="Spare")
    _assert_refused(post_frame(token, frame), 403, "not_live")
    assert published == []


def test_the_one_query_lookup_finds_what_the_two_lookups_find(scheduled, node, dep_people, django_assert_num_queries):
    """The edge API finds the node and its live deployment in one query: the same answers as the token lookup
    and the live deployment asked of the ORM, before and after going live, outside the window and once revoked."""
    from deployments.models import Deployment
    from lfr_governance import clock

    def live_deployment_of(node, now=None):
        now = now or clock.now()
        return node.deployments.filter(status="live", starts_at__lte=now, ends_at__gt=now).order_by(
            "-starts_at").first()

    def both_ways(token, now=None):
        with django_assert_num_queries(1 if token else 0):  # no token, no query
            found, live = deployment_selectors.edge_node_for_token_with_live(token, now)
        expected = deployment_selectors.edge_node_for_token(token)
        assert found == expected
        if expected is not None:
            assert (found.name, found.token_prefix, found.revoked_at) == (
                expected.name, expected.token_prefix, expected.revoked_at)
            assert live == live_deployment_of(expected, now)
        return found, live

    assert both_ways(node.token) == (node, None)  # scheduled, not live
    Deployment.objects.filter(pk=scheduled.pk).update(status="live", starts_at=timezone.now() - timedelta(hours=1))
    found, live = both_ways(node.token)
    assert live == scheduled
    assert (live.status, live.ends_at) == ("live", Deployment.objects.get(pk=scheduled.pk).ends_at)
    assert both_ways(node.token, timezone.now() + timedelta(hours=5)) == (node, None)  # after its window
    assert both_ways(node.token + "x") == (None, None)
    assert both_ways("") == (None, None)
    deployment_services.edge_node_revoke(actor=dep_people["admin"], node=node)
    assert both_ways(node.token) == (None, None)


def test_frames_captured_outside_the_window_are_refused(live, node, post_frame, frame, published, settings):
    settings.LFR_EDGE_MAX_CLOCK_SKEW_SECONDS = 6 * 3600  # isolate the window check from the clock check
    for captured_at in (live.starts_at - timedelta(seconds=30), live.ends_at):
        body = _assert_refused(post_frame(node.token, frame, captured_at=captured_at), 422, "outside_window")
        assert "outside the deployment's authorised window" in body["detail"]
    assert published == [] and _payload_keys() == []
    assert counters_of(live).frames_refused == 2


def test_frames_with_a_clock_far_from_the_server_are_refused(live, node, post_frame, frame, published):
    for offset in (timedelta(seconds=-45), timedelta(seconds=45)):
        body = _assert_refused(post_frame(node.token, frame, captured_at=timezone.now() + offset), 422, "clock_skew")
        assert "30 seconds" in body["detail"]
    assert published == [] and _payload_keys() == []
    assert counters_of(live).frames_refused == 2


def _truncated(frame: bytes) -> bytes:
    return frame[: len(frame) // 2]


def _webp(frame: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(frame)).save(out, "WEBP")
    return out.getvalue()


@pytest.mark.parametrize("make", [lambda f: b"not an image at all", lambda f: b"", _truncated, _webp],
                         ids=["text", "empty", "truncated", "webp"])
def test_bad_images_are_refused(live, node, post_frame, frame, published, make):
    response = post_frame(node.token, make(frame))
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"bad_image", "invalid"}  # an empty upload fails the form's own check
    assert published == [] and _payload_keys() == []
    assert counters_of(live).frames_refused == 1


def test_oversize_images_are_refused(live, node, post_frame, frame, published, settings, client):
    settings.LFR_EDGE_MAX_FRAME_BYTES = 10_000
    body = _assert_refused(post_frame(node.token, frame), 413, "image_too_large")
    assert "10,000" in body["detail"]
    settings.LFR_EDGE_MAX_FRAME_BYTES = 4 * 1024 * 1024
    settings.LFR_EDGE_MAX_FRAME_PIXELS = 320 * 180
    _assert_refused(post_frame(node.token, frame), 413, "image_too_large")
    # Above the request cap the body is refused before it is read (no deployment is known yet: not counted).
    settings.LFR_MAX_UPLOAD_BYTES = 1000
    _assert_refused(post_frame(node.token, frame), 413, "payload_too_large")
    assert published == [] and _payload_keys() == []
    assert counters_of(live).frames_refused == 2


def test_too_many_requests_from_one_node_are_refused(live, node, post_frame, frame, published, settings,
                                                     monkeypatch):
    settings.LFR_EDGE_MAX_FRAMES_PER_SECOND = 3
    monkeypatch.setattr(frames.time, "time", lambda: 1_800_000_000.5)  # all in one second
    answers = [post_frame(node.token, frame) for _ in range(5)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert answers[3]["Retry-After"] == "1" and answers[3].json()["code"] == "rate_limited"
    assert len(published) == 3 and len(_payload_keys()) == 3
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused) == (3, 2)


@pytest.mark.parametrize("field, value, message", [
    ("frame_id", "has spaces/and slashes", "frame_id"),
    ("frame_id", "", "frame_id"),
    ("captured_at", "yesterday", "captured_at"),
    ("captured_at", "2026-05-01T14:03:27", "captured_at"),  # no offset
    ("camera", "", "camera"),
])
def test_invalid_fields_are_refused_by_name(live, node, client, frame, published, field, value, message):
    data = {"image": SimpleUploadedFile("f.jpg", frame, "image/jpeg"), "frame_id": "ok-1",
            "captured_at": timezone.now().isoformat(), "camera": "mast-1", field: value}
    body = _assert_refused(client.post(f"{EDGE}/frames", data, HTTP_AUTHORIZATION=f"Bearer {node.token}"), 400,
                           "invalid")
    assert message in body["fields"]
    assert published == [] and counters_of(live).frames_refused == 1


def test_detections_with_and_without_landmarks_are_queued(live, node, client, face_bytes, published):
    crop = jpeg_of(face_bytes("img2.jpg"), size=(200, 200))
    landmarks = [[[70, 90], [130, 90], [100, 120], [75, 150], [125, 150]], None]
    data = {"crops": [SimpleUploadedFile("a.jpg", crop, "image/jpeg"), SimpleUploadedFile("b.jpg", crop, "image/jpeg")],
            "landmarks": json.dumps(landmarks), "frame_id": "det-1", "captured_at": timezone.now().isoformat(),
            "camera": "mast-1"}
    response = client.post(f"{EDGE}/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}")
    assert response.status_code == 202, response.content
    (key, _), = _payload_keys()
    kind, crops = frames.decode_payload(frames.client().get(key))
    assert kind == "detections" and [c.data for c in crops] == [crop, crop]
    assert [c.landmarks for c in crops] == landmarks
    bad = {**data, "crops": [SimpleUploadedFile("a.jpg", crop, "image/jpeg")], "frame_id": "det-2",
           "landmarks": json.dumps([[[1, 2]]])}
    body = _assert_refused(client.post(f"{EDGE}/detections", bad, HTTP_AUTHORIZATION=f"Bearer {node.token}"), 400,
                           "invalid")
    assert "landmarks" in body["fields"]
    assert len(published) == 1 and counters_of(live).frames_refused == 1


def test_status_tells_the_node_its_deployment_window_and_the_time(live, node, client, dep_people):
    response = client.get(f"{EDGE}/status", HTTP_AUTHORIZATION=f"Bearer {node.token}")
    assert response.status_code == 200
    body = response.json()
    assert body["live"] is True and body["edge_node"] == node.name
    assert body["deployment"]["id"] == live.pk and body["deployment"]["status"] == "live"
    assert body["deployment"]["starts_at"] and body["deployment"]["ends_at"] and body["server_time"]
    deployment_services.deployment_end(deployment=live, actor=dep_people["owner"])
    body = client.get(f"{EDGE}/status", HTTP_AUTHORIZATION=f"Bearer {node.token}").json()
    assert body["live"] is False


def test_a_person_signed_in_cannot_use_the_edge_api(live, client, dep_people, frame):
    client.force_login(dep_people["operator"])
    assert client.get(f"{EDGE}/status").status_code == 401


def test_the_schema_describes_the_edge_api(client, dep_people):
    client.force_login(dep_people["owner"])
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    for path in ("/api/edge/v1/frames", "/api/edge/v1/detections", "/api/edge/v1/status"):
        assert path in schema["paths"], path
    frames_post = schema["paths"]["/api/edge/v1/frames"]["post"]
    assert {"202", "401", "403", "409", "413", "422", "429"} <= set(frames_post["responses"])
    assert "multipart/form-data" in frames_post["requestBody"]["content"]
    assert schema["components"]["securitySchemes"]["edgeNodeToken"] == {
        "type": "http", "scheme": "bearer", "description": "The edge node's token, shown once at registration."}


def test_frames_are_refused_for_a_retry_while_redis_is_unreachable(live, node, post_frame, frame, published,
                                                                    monkeypatch):
    import redis

    def down(*args, **kwargs):
        raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(frames, "frame_admit", down)
    response = post_frame(node.token, frame, frame_id="retry-1")
    body = _assert_refused(response, 503, "unavailable")
    assert response["Retry-After"] == "1" and "retry" in body["detail"]
    assert published == [] and counters_of(live).frames_received == 0
    monkeypatch.undo()
    assert post_frame(node.token, frame, frame_id="retry-1").status_code == 202  # the id was released


def _detections(crop: bytes, landmarks_text: str, frame_id: str) -> dict:
    return {"crops": [SimpleUploadedFile("a.jpg", crop, "image/jpeg")], "landmarks": landmarks_text,
            "frame_id": frame_id, "captured_at": timezone.now().isoformat(), "camera": "mast-1"}


GOOD_LANDMARKS = [[70, 90], [130, 90], [100, 120], [75, 150], [125, 150]]  # in a 200 x 200 crop


@pytest.mark.parametrize("landmarks_text, why", [
    ("[[[NaN, 90], [130, 90], [100, 120], [75, 150], [125, 150]]]", "NaN"),
    ("[[[70, Infinity], [130, 90], [100, 120], [75, 150], [125, 150]]]", "Infinity"),
    ("[[[70, 90], [-Infinity, 90], [100, 120], [75, 150], [125, 150]]]", "Infinity"),
    ("[[[1e400, 90], [130, 90], [100, 120], [75, 150], [125, 150]]]", "finite"),
    ("[[[1e308, 1e308], [1e308, 1e308], [1e308, 1e308], [1e308, 1e308], [1e308, 1e308]]]", "crop"),
    (f"[[[{10**300}, 90], [130, 90], [100, 120], [75, 150], [125, 150]]]", "crop"),
    (f"[[[{10**400}, 90], [130, 90], [100, 120], [75, 150], [125, 150]]]", "finite"),
    ("[[[-150, -150], [-110, -110], [-130, -140], [-145, -120], [-115, -120]]]", "crop"),
    ("[[[-60, -60], [-20, -20], [-40, -50], [-55, -30], [-25, -30]]]", "centre"),
    ("[[[70, 90], [130, 90], [100, 120], [75, 150], [125, 950]]]", "crop"),
    ("[[[100, 100], [100, 100], [100, 100], [100, 100], [100, 100]]]", "eyes"),
    ("[[[70, 90], [70, 90], [100, 120], [75, 150], [125, 150]]]", "eyes"),
    ("[[[10, 10], [20, 20], [30, 30], [40, 40], [50, 50]]]", "line"),
    ("[[[true, false], [true, true], [false, true], [false, false], [true, false]]]", "number"),
    ('[[["70", "90"], [130, 90], [100, 120], [75, 150], [125, 150]]]', "number"),
    ("[[[70, 90, 1], [130, 90], [100, 120], [75, 150], [125, 150]]]", "[x, y]"),
    ("[[[70, 90], [130, 90], [100, 120], [75, 150]]]", "five"),
    ("[[70, 90, 130, 90, 100, 120, 75, 150, 125, 150]]", "five"),
    ("{}", "list"),
    ("[" * 5000 + "]" * 5000, "characters"),
    ("[[[[70, 90]], [130, 90], [100, 120], [75, 150], [125, 150]]]", "nested"),
    ("[" * 100_000, "characters"),
    ("[[[70, 90], [130, 90], [100, 120], [75, 150], [125, 150]]" + " " * 5000 + "]", "characters"),
], ids=["nan", "infinity", "minus-infinity", "overflow", "1e308", "large-int", "huge-int", "negative",
        "negative-near", "below",
        "identical", "same-eyes", "collinear", "booleans", "strings", "three-coordinates", "four-points", "flat",
        "object", "nested-5000", "nested-4", "long", "padded"])
def test_malformed_landmarks_are_refused_by_name_and_nothing_is_queued(live, node, client, face_bytes, published,
                                                                        landmarks_text, why):
    crop = jpeg_of(face_bytes("img2.jpg"), size=(200, 200))
    response = client.post(f"{EDGE}/detections", _detections(crop, landmarks_text, "lm-1"),
                           HTTP_AUTHORIZATION=f"Bearer {node.token}")
    body = _assert_refused(response, 400, "invalid")
    assert list(body["fields"]) == ["landmarks"] and why in " ".join(body["fields"]["landmarks"]), body
    assert published == [] and _payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused) == (0, 1)
    # The frame id was not consumed: the node may send the frame again with sound landmarks.
    again = client.post(f"{EDGE}/detections", _detections(crop, json.dumps([GOOD_LANDMARKS]), "lm-1"),
                        HTTP_AUTHORIZATION=f"Bearer {node.token}")
    assert again.status_code == 202, again.content
    assert len(published) == 1


def test_landmarks_are_checked_against_each_crops_own_size(live, node, client, face_bytes, published):
    small, large = jpeg_of(face_bytes("img2.jpg"), size=(120, 120)), jpeg_of(face_bytes("img2.jpg"), size=(200, 200))
    data = {"crops": [SimpleUploadedFile("a.jpg", large, "image/jpeg"),
                      SimpleUploadedFile("b.jpg", small, "image/jpeg")],
            "landmarks": json.dumps([GOOD_LANDMARKS, [[p[0] + 80, p[1] + 80] for p in GOOD_LANDMARKS]]),
            "frame_id": "lm-size", "captured_at": timezone.now().isoformat(), "camera": "mast-1"}
    body = _assert_refused(client.post(f"{EDGE}/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}"), 400,
                           "invalid")
    assert "crop 2" in body["fields"]["landmarks"][0] and "120x120" in body["fields"]["landmarks"][0], body
    assert published == [] and _payload_keys() == [] and counters_of(live).frames_refused == 1


def test_a_number_too_long_to_read_in_the_landmarks_is_refused(live, node, client, face_bytes, published):
    crop = jpeg_of(face_bytes("img2.jpg"), size=(200, 200))
    point = "1" * 4400  # Python refuses to read an integer of more than 4,300 digits
    text = json.dumps([GOOD_LANDMARKS] + [None] * 9).replace("[[70, 90]", f"[[{point}, 90]", 1)
    data = {**_detections(crop, text, "lm-long"), "crops": [SimpleUploadedFile(f"{i}.jpg", crop, "image/jpeg")
                                                             for i in range(10)]}
    body = _assert_refused(client.post(f"{EDGE}/detections", data, HTTP_AUTHORIZATION=f"Bearer {node.token}"), 400,
                           "invalid")
    assert "too long" in body["fields"]["landmarks"][0]
    assert published == [] and counters_of(live).frames_refused == 1
