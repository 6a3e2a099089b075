"""The enrolment path through a real Celery worker: upload, queued, then accepted with a template."""

import time

import pytest

from watchlists import services
from watchlists.models import ReferenceImage

from .conftest import ENTRY_DEFAULTS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_assesses_uploaded_images(celery_worker_process, people, watchlist, face_bytes):
    entry = services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-W",
                                  **ENTRY_DEFAULTS)
    good = services.reference_image_add(actor=people["owner"], entry=entry, data=face_bytes("img1.jpg"))
    two = services.reference_image_add(actor=people["owner"], entry=entry, data=face_bytes("couple.jpg"))
    assert good.state == two.state == "queued"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = dict(ReferenceImage.objects.filter(pk__in=[good.pk, two.pk]).values_list("pk", "state"))
        if "queued" not in states.values():
            break
        time.sleep(0.3)
    good.refresh_from_db()
    two.refresh_from_db()
    assert good.state == "accepted" and len(bytes(good.template)) == 512
    assert two.state == "refused" and two.refusal_reason == "multiple_faces"
