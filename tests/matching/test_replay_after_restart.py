"""Replay protection survives a Redis restart: the frame-id keys are gone with it, so a frame captured before Redis
started again is refused (409 captured_before_restart, nothing stored, counted refused); frames captured after the
restart are accepted. On an embedded Redis of the test's own, which it restarts (never the machine's)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from lfr_governance.launcher import EmbeddedRedis, _pick_port
from matching import frames

from .conftest import counters_of, jpeg_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_redis(tmp_path, settings):
    server = EmbeddedRedis(tmp_path / "redis", _pick_port(0))
    settings.REDIS_URL = server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_frame_accepted_before_a_redis_restart_is_not_accepted_again(own_redis, live, node, post_frame,
                                                                       face_bytes, published):
    frame = jpeg_of(face_bytes("img22.jpg"))
    time.sleep(1.2)  # this Redis's first second: frames captured in it are refused as on a restart
    captured_at = timezone.now() - timedelta(seconds=0.2)
    assert post_frame(node.token, frame, frame_id="r-1", captured_at=captured_at).status_code == 202
    assert post_frame(node.token, frame, frame_id="r-1", captured_at=captured_at).json()["code"] == "duplicate_frame"

    own_redis.stop()
    own_redis.start()  # the frame-id keys are gone
    assert frames.client().exists(frames.seen_key(node.pk, "r-1")) == 0
    replay = post_frame(node.token, frame, frame_id="r-1", captured_at=captured_at)
    assert replay.status_code == 409, replay.content
    assert replay.json()["code"] == "captured_before_restart" and "restarted" in replay.json()["detail"]
    assert len(published) == 1 and frames.payload_keys() == []
    assert frames.client().exists(frames.seen_key(node.pk, "r-1")) == 0  # not claimed: nothing stored

    time.sleep(1.2)
    assert post_frame(node.token, frame, frame_id="r-2").status_code == 202  # captured after the restart
    counters = counters_of(live)
    assert (counters.frames_received, counters.frames_refused) == (2, 2)
