"""A sign photo is kept only with its row: a sign refused after the photo was written leaves no file."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments import services
from deployments.models import SignageRecord
from tests.watchlists.test_files_rollback import unreferenced_media

from .test_views import png_bytes

pytestmark = pytest.mark.django_db


def test_a_sign_whose_audit_fails_leaves_no_photo(scheduled, dep_people, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.signage_record_add(actor=dep_people["owner"], deployment=scheduled, position_description="Post 4",
                                    latitude="51.5075", longitude="-0.1277", size="A1",
                                    placed_at=timezone.now() - timedelta(minutes=5), photo=png_bytes())
    assert not SignageRecord.objects.exists() and unreferenced_media() == []
