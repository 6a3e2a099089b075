"""Received and deleted agree for every finished frame, whatever fails on the way in: a frame whose received count
cannot be written (PostgreSQL down) is refused (503, nothing queued, nothing counted) and accepted when sent again;
one whose task cannot be published has its count taken back."""

import kombu.exceptions
import pytest
from django.db import OperationalError

from matching import counts, frames, pipeline

from .conftest import counters_of, jpeg_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]


def test_a_frame_whose_received_count_fails_is_refused_whole_then_counted_once_processed(
        live, node, post_frame, face_bytes, published, monkeypatch):
    frame = jpeg_of(face_bytes("img22.jpg"))
    real = counts.frame_received
    calls = []

    def fails_once(deployment_id):
        calls.append(deployment_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        real(deployment_id)

    monkeypatch.setattr(counts, "frame_received", fails_once)
    response = post_frame(node.token, frame, frame_id="c-1")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "unavailable" and int(response["Retry-After"]) >= 1
    assert published == [] and frames.payload_keys() == []  # refused entirely: nothing queued, nothing kept
    assert counters_of(live).frames_received == 0

    assert post_frame(node.token, frame, frame_id="c-1").status_code == 202  # the node's retry: the id was released
    assert len(published) == 1 and counters_of(live).frames_received == 1
    pipeline.frame_process(**published[0])
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_deleted) == (1, 1)
    assert frames.payload_keys() == []


def test_a_frame_whose_task_cannot_be_published_is_not_left_counted(live, node, post_frame, face_bytes, monkeypatch):
    from matching.tasks import process_frame_task

    def broker_down(*args, **kwargs):
        raise kombu.exceptions.OperationalError("broker unreachable")

    monkeypatch.setattr(process_frame_task, "apply_async", broker_down)
    response = post_frame(node.token, jpeg_of(face_bytes("img22.jpg")), frame_id="c-2")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert frames.payload_keys() == []
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_deleted) == (0, 0)
