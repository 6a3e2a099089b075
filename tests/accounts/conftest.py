"""People-management fixtures: a watchlist with images and a live deployment with an alert, built with the real
services (the watchlists, deployments and matching fixtures), so access can be tested against real content."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from matching.models import Alert
from tests.deployments.conftest import application, authorised, dep_people, node, scheduled  # noqa: F401
from tests.matching.conftest import _clean_redis_keys, jpeg_of, live, window  # noqa: F401
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401
from watchlists.models import ReferenceImage

JUSTIFICATION = "Checking the watchlist image before the briefing"


@pytest.fixture
def image(frozen):
    return ReferenceImage.objects.filter(entry__version=frozen).select_related("entry__version").order_by("pk").first()


@pytest.fixture
def alert(live, node, face_bytes):
    probe = jpeg_of(face_bytes("img2.jpg"), size=(120, 120))
    reference = ReferenceImage.objects.filter(entry__version=live.watchlist_version).select_related("entry").first()
    now = timezone.now()
    return Alert.objects.create(
        deployment=live, edge_node=node, camera="north mast", frame_id=f"frame-{now.timestamp()}",
        entry=reference.entry, reference_image=reference, probe_image=ContentFile(probe, name="probe.jpg"),
        score=0.71, threshold=live.threshold, pack_id="yunet-sface", captured_at=now, received_at=now, alerted_at=now,
    )
