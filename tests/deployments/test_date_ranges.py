"""Dates and times a person or an edge node gives must be in a sane range (policy: LFR_EARLIEST_DATE to
LFR_LATEST_DATE): year 323 or 2999 is a typing or clock error, refused with a message naming the field."""

from datetime import date, datetime, timedelta, timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from deployments import services
from deployments.models import Deployment, LeafletRecord, SignageRecord
from lfr_governance.retention import holds
from matching import services as matching_services
from watchlists import bulk
from watchlists import services as watchlist_services
from watchlists.models import WatchlistEntry

from tests.watchlists.conftest import ENTRY_DEFAULTS

from .test_api import application_json, sign_json
from .test_views import when

pytestmark = pytest.mark.django_db

YEAR_323 = datetime(323, 7, 25, 1, 10, 4, 800000, tzinfo=dt_timezone.utc)
YEAR_2999 = datetime(2999, 1, 1, 12, 0, tzinfo=dt_timezone.utc)
RANGE_WORDS = "between 1 January 2000 and 1 January 2100"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize("far", [YEAR_323, YEAR_2999])
def test_a_deployment_window_out_of_range_is_refused_by_the_api(dep_people, frozen, node, window, far):
    body = application_json(frozen.pk, [node.pk], far, far + timedelta(hours=2))
    response = _api(dep_people["owner"]).post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert RANGE_WORDS in fields["starts_at"][0] and RANGE_WORDS in fields["ends_at"][0]
    assert "0323-07-25" not in response.content.decode()  # nothing echoed back in a strange zone
    assert not Deployment.objects.exists()


def test_a_deployment_window_out_of_range_is_refused_by_the_form(client, dep_people, frozen, node):
    from .test_views import application_post

    client.force_login(dep_people["owner"])
    response = client.post(reverse("deployments:create"),
                           application_post(frozen, [node], YEAR_2999, YEAR_2999 + timedelta(hours=2)))
    assert response.status_code == 400 and RANGE_WORDS in response.content.decode()
    assert not Deployment.objects.exists()


def test_sign_and_leaflet_times_out_of_range_are_refused(scheduled, dep_people, client):
    api = _api(dep_people["owner"])
    response = api.post(f"/api/v1/deployments/{scheduled.pk}/signage/", sign_json(YEAR_323), format="json")
    assert response.status_code == 400 and RANGE_WORDS in response.json()["fields"]["placed_at"][0]
    response = api.post(f"/api/v1/deployments/{scheduled.pk}/leaflets/",
                        {"count": 10, "window_start": YEAR_323.isoformat(), "window_end": YEAR_2999.isoformat(),
                         "where": "High Street"}, format="json")
    assert response.status_code == 400
    assert {"window_start", "window_end"} <= set(response.json()["fields"])
    assert not SignageRecord.objects.exists() and not LeafletRecord.objects.exists()

    sign = services.signage_record_add(actor=dep_people["owner"], deployment=scheduled, position_description="Post",
                                       latitude="51.5075", longitude="-0.1277", size="A1",
                                       placed_at=timezone.now() - timedelta(minutes=5))
    response = api.post(f"/api/v1/signage/{sign.pk}/removed/", {"removed_at": YEAR_2999.isoformat()}, format="json")
    assert response.status_code == 400 and RANGE_WORDS in response.json()["fields"]["removed_at"][0]

    client.force_login(dep_people["owner"])
    response = client.post(reverse("deployments:sign_add", args=[scheduled.pk]), {
        "sign-position_description": "Lamp post 14", "sign-latitude": "51.5075", "sign-longitude": "-0.1277",
        "sign-size": "A1", **when("sign-placed_at", YEAR_2999)})
    assert response.status_code == 400 and RANGE_WORDS in response.content.decode()


def test_an_image_capture_date_out_of_range_is_refused(frozen, watchlist, people):
    api = _api(people["owner"])
    body = {**ENTRY_DEFAULTS, "subject_ref": "PNC-09/999Z", "image_capture_date": "0323-07-25"}
    response = api.post(f"/api/v1/watchlists/{watchlist.pk}/entries/", body, format="json")
    assert response.status_code == 400 and RANGE_WORDS in response.json()["fields"]["image_capture_date"][0]
    with pytest.raises(ValidationError) as refused:
        watchlist_services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-09/999Z",
                                        **{**ENTRY_DEFAULTS, "image_capture_date": date(1899, 12, 31)})
    assert RANGE_WORDS in refused.value.message_dict["image_capture_date"][0]
    assert not WatchlistEntry.objects.filter(subject_ref="PNC-09/999Z").exists()
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        bulk._row_fields({"image_capture_date": "323-07-25"})


def test_a_hold_review_date_out_of_range_is_refused(scheduled, node, dep_people):
    from django.core.files.base import ContentFile

    from matching.models import Alert

    now = timezone.now()
    alert = Alert(deployment=scheduled, edge_node=node, camera="c", frame_id="d-1", score=0.8, threshold=0.43,
                  entry=scheduled.watchlist_version.entries.first(), pack_id="yunet-sface", captured_at=now,
                  received_at=now, alerted_at=now, probe_image=ContentFile(b"\xff\xd8", name="p.jpg"))
    alert.save()
    with pytest.raises(ValidationError) as refused:
        holds.legal_hold_place(actor=dep_people["owner"], alert=alert, reason="Evidence in R v Example (2026)",
                               owner=dep_people["owner"], review_date=date(2999, 1, 1))
    assert RANGE_WORDS in refused.value.message_dict["review_date"][0]


def test_an_edge_capture_time_out_of_range_is_refused_without_echoing_it(scheduled):
    with pytest.raises(matching_services.EdgeRefusal) as refused:
        matching_services.edge_time_check(deployment=scheduled, captured_at=YEAR_323)
    assert refused.value.status == 400 and "captured_at" in refused.value.message
    assert RANGE_WORDS in refused.value.message and "0323" not in refused.value.message
