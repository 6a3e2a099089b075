"""Matching fixtures: a live deployment over a watchlist of seven DeepFace identities, frames made from other
photographs of all thirteen, and helpers to post them to the edge API and wait for the worker."""

import io
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from deployments import services as deployment_services
from deployments.models import Deployment, DeploymentCounters
from matching import frames
from tests.deployments.conftest import application, authorised, dep_people, node, scheduled  # noqa: F401
from tests.watchlists.conftest import add_entry, face_bytes, people, watchlist  # noqa: F401
from tools.edge_client import on_canvas
from watchlists import services as watchlist_services

from tests.conftest import MEDIA_ROOT  # noqa: E402,F401  (the run's own media folder)

EDGE = "/api/edge/v1"
# One enrolment photograph per watchlisted identity (person01..07 of identities.csv); img31, img41, img54,
# img59 and img62 hold several faces and are never used.
ENROLMENT = {
    "person01": ("img1.jpg", "warrant", ""),
    "person02": ("img3.jpg", "serious_offence", "robbery"),
    "person03": ("img8.jpg", "serious_offence", "knife_crime"),
    "person04": ("img13.jpg", "court_conditions", ""),
    "person05": ("img16.jpg", "warrant", ""),
    "person06": ("img18.jpg", "missing_at_risk", ""),
    "person07": ("img20.jpg", "serious_offence", "firearms"),
}
# Other photographs of the seven (each should alert) and of six people not on the watchlist (none should).
WATCHLISTED_PROBES = {
    "person01": "img2.jpg", "person02": "img12.jpg", "person03": "img47.jpg", "person04": "img14.jpg",
    "person05": "img17.jpg", "person06": "img19.jpg", "person07": "img21.jpg",
}
OTHER_PROBES = {
    "person08": "img22.jpg", "person09": "img24.jpg", "person10": "img26.jpg", "person11": "img29.jpg",
    "person12": "img34.jpg", "person13": "img38.jpg",
}


def subject_ref(person: str) -> str:
    return f"PNC-{person[-2:]}/0000{person[-2:]}X"


@pytest.fixture(autouse=True)
def _clean_redis_keys():
    """Frame payloads, seen/done markers and rate counters of one test never reach the next."""
    def clean():
        client = frames.client()
        for key in client.scan_iter(match="lfr:*", count=1000):
            if not key.startswith(b"lfr:worker:"):
                client.delete(key)

    clean()
    yield
    clean()


def jpeg_of(photo: bytes, *, marker: str = "", size=(640, 360), greyscale: bool = False) -> bytes:
    """A camera-sized frame (the photograph centred on a grey canvas) as JPEG, with an optional comment marker."""
    with Image.open(io.BytesIO(photo)) as source:  # some '.jpg' files (img47) are really WebP: re-encoded here
        rgb = np.asarray(source.convert("RGB"))
    frame = on_canvas(rgb[:, :, ::-1], *size)[:, :, ::-1]
    image = Image.fromarray(np.ascontiguousarray(frame))
    if greyscale:
        image = image.convert("L").convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, comment=marker.encode() if marker else b"")
    return out.getvalue()


@pytest.fixture
def window():
    """A window that is open now (the deployments fixtures' window starts in an hour)."""
    start = timezone.now() - timedelta(minutes=2)
    return start, start + timedelta(hours=4)


@pytest.fixture
def frozen(watchlist, people, add_entry):
    """The seven DeepFace identities, one photograph each, reviewed and frozen."""
    for person, (image, category, offence) in ENROLMENT.items():
        entry, img = add_entry(watchlist, people["owner"], subject_ref(person), image, category=category,
                               offence=offence, image_capture_date=date(2025, 1, int(person[-2:])))
        assert img.state == "accepted", img.refusal_message
        watchlist_services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    return watchlist_services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)


@pytest.fixture
def live(scheduled, dep_people):
    """The deployment live now, with a sign in place and the operator assigned."""
    deployment_services.signage_record_add(
        actor=dep_people["owner"], deployment=scheduled, position_description="Lamp post outside number 12",
        latitude=Decimal("51.507500"), longitude=Decimal("-0.127700"), size="A1 (594 x 841 mm)",
        placed_at=timezone.now() - timedelta(minutes=3),
    )
    # These tests post one photograph per passer-by, so the deployment alerts on a single frame (k = 1, as
    # authorised); the tracking tests (test_tracks_pipeline.py) use the default k = 2.
    Deployment.objects.filter(pk=scheduled.pk).update(confirmation_frames=1)
    deployment = deployment_services.deployment_go_live(deployment=scheduled)
    deployment_services.operator_assign(actor=dep_people["owner"], deployment=deployment,
                                        operator=dep_people["operator"])
    return deployment


@pytest.fixture
def published(monkeypatch):
    """The task messages the API would publish, kept here instead (no worker in these tests)."""
    from matching.tasks import process_frame_task

    sent = []
    monkeypatch.setattr(process_frame_task, "apply_async", lambda *args, **kwargs: sent.append(kwargs["kwargs"]))
    return sent


@pytest.fixture
def post_frame(client):
    """Posts a frame to the edge API as the node holding `token`."""

    def _post(token: str, image: bytes, *, frame_id: str | None = None, captured_at=None, camera: str | None = None,
              content_type: str = "image/jpeg"):
        frame_id = frame_id or f"f-{uuid.uuid4().hex[:12]}"
        data = {
            "image": SimpleUploadedFile("frame.jpg", image, content_type=content_type),
            "frame_id": frame_id,
            "captured_at": (captured_at or timezone.now()).isoformat(),
            # Each photograph is its own passer-by unless the test names the camera: photographs of different
            # people at the same place in frames a moment apart would be joined into one track by their box.
            "camera": camera or f"mast-1 {uuid.uuid4().hex[:8]}",
        }
        return client.post(f"{EDGE}/frames", data, HTTP_AUTHORIZATION=f"Bearer {token}")

    return _post


def counters_of(deployment) -> DeploymentCounters:
    return DeploymentCounters.objects.get(deployment=deployment)


def wait_for(condition, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {message}.")


@pytest.fixture
def fresh_worker_memory():
    """The worker's in-process state (contexts, galleries, reported problems) starts and ends empty."""
    from matching import pipeline

    def clear() -> None:
        pipeline._contexts.clear()
        pipeline._galleries.clear()
        pipeline._reported_problems.clear()

    clear()
    yield
    clear()
