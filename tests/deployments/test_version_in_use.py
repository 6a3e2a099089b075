"""A watchlist version a scheduled or live deployment uses cannot be destroyed: not by the service, the API or the
page; the retention purge still destroys it once its deployments are finished."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from deployments import services
from deployments.choices import DeploymentStatus
from deployments.models import Deployment
from lfr_governance.retention import services as retention
from watchlists import services as watchlist_services
from watchlists.models import ReferenceImage

pytestmark = pytest.mark.django_db
S = DeploymentStatus


def _admin_api(dep_people) -> APIClient:
    client = APIClient()
    client.force_login(dep_people["admin"])
    return client


@pytest.mark.parametrize("status", [S.SCHEDULED, S.LIVE])
def test_the_service_refuses_while_a_deployment_uses_the_version(scheduled, dep_people, status):
    Deployment.objects.filter(pk=scheduled.pk).update(status=status)
    version = scheduled.watchlist_version
    with pytest.raises(ValidationError) as refused:
        watchlist_services.watchlist_version_destroy(version=version, reason="Operation over", actor=dep_people["admin"])
    message = " ".join(refused.value.messages)
    assert f"LFR-{scheduled.pk:05d}" in message and status in message.lower()
    version.refresh_from_db()
    assert version.status == "frozen" and ReferenceImage.objects.filter(entry__version=version).count() == 3


def test_the_api_refuses_while_live(scheduled, dep_people):
    Deployment.objects.filter(pk=scheduled.pk).update(status=S.LIVE)
    version = scheduled.watchlist_version
    response = _admin_api(dep_people).post(f"/api/v1/versions/{version.pk}/destroy/", {"reason": "Deployment ended"},
                                           format="json")
    assert response.status_code == 400, response.content
    assert f"LFR-{scheduled.pk:05d}" in response.json()["detail"]
    version.refresh_from_db()
    assert version.status == "frozen"


def test_the_page_warns_and_offers_no_button_while_scheduled(client, scheduled, dep_people):
    version = scheduled.watchlist_version
    client.force_login(dep_people["admin"])
    url = reverse("watchlists:version_destroy", args=[version.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="version-in-use"' in html and f"LFR-{scheduled.pk:05d}" in html
    assert "Destroy images and templates</button>" not in html
    response = client.post(url, {"reason": "Operation cancelled; images no longer needed"})
    assert response.status_code == 400 and f"LFR-{scheduled.pk:05d}" in response.content.decode()
    version.refresh_from_db()
    assert version.status == "frozen"


def test_finished_deployments_do_not_block_and_the_purge_still_destroys(scheduled, dep_people,
                                                                      django_capture_on_commit_callbacks):
    end = timezone.now() - timedelta(hours=30)
    Deployment.objects.filter(pk=scheduled.pk).update(status=S.ENDED, ended_at=end)
    with django_capture_on_commit_callbacks(execute=True):
        run = retention.purge_run(now=end + timedelta(hours=25))
    assert run.status == "succeeded" and run.deleted["watchlist_images"] == 1
    scheduled.watchlist_version.refresh_from_db()
    assert scheduled.watchlist_version.status == "destroyed"


def test_a_destroyed_version_cannot_be_scheduled_or_go_live(authorised, dep_people):
    version = authorised.watchlist_version
    watchlist_services.watchlist_version_destroy(version=version, reason="Operation over", actor=dep_people["admin"])
    with pytest.raises(ValidationError, match="destroyed"):
        services.deployment_schedule(actor=dep_people["owner"], deployment=authorised)
    Deployment.objects.filter(pk=authorised.pk).update(status=S.SCHEDULED)
    authorised.refresh_from_db()
    from deployments.selectors import go_live_problems

    assert any("destroyed" in problem for problem in go_live_problems(authorised, now=authorised.starts_at))
