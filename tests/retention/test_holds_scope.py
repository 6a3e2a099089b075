"""Legal holds stay within the team: the list shows only holds on alerts of deployments the person can see (the DPO
sees all), and the new-hold page answers alike for another team's alert and a missing one. The retention report's
deployment filter takes the reference as shown on screen."""

import re
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from lfr_governance.accounts.choices import Role
from lfr_governance.retention import holds
from lfr_governance.retention.models import LegalHold
from matching.models import Alert
from tests.deployments.conftest import (  # noqa: F401  (shared fixtures)
    application, authorised, dep_people, node, scheduled, window,
)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = pytest.mark.django_db
REASON = "Evidence in R v Example (2026), Crown Court"


@pytest.fixture
def held(scheduled, node, dep_people):
    """One alert of the owner's team's deployment, under a hold placed by the owner."""
    now = timezone.now()
    alert = Alert(deployment=scheduled, edge_node=node, camera="cam 1", frame_id="h-1",
                  entry=scheduled.watchlist_version.entries.first(), score=0.8, threshold=0.43, pack_id="yunet-sface",
                  captured_at=now, received_at=now, alerted_at=now)
    alert.probe_image = ContentFile(b"\xff\xd8probe", name="probe.jpg")
    alert.save()
    holds.legal_hold_place(actor=dep_people["owner"], alert=alert, reason=REASON, owner=dep_people["owner"],
                           review_date=date.today() + timedelta(days=30))
    return alert


def test_an_officer_of_another_team_sees_no_other_teams_holds(client, held, dep_people):
    client.force_login(dep_people["outsider"])
    response = client.get("/retention/holds/")
    assert response.status_code == 200
    html = response.content.decode()
    assert REASON not in html and f"LFR-{held.deployment_id:05d}" not in html and "No legal holds." in html


@pytest.mark.parametrize("who", ["owner", "colleague"])
def test_officers_of_the_team_see_their_holds(client, held, dep_people, who):
    client.force_login(dep_people[who])
    assert REASON in client.get("/retention/holds/").content.decode()


def test_the_dpo_sees_every_hold(client, held, make_user):
    client.force_login(make_user("dpo-s", Role.DPO))
    assert REASON in client.get("/retention/holds/").content.decode()


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_another_teams_alert_and_a_missing_one_answer_alike(client, held, dep_people):
    client.force_login(dep_people["outsider"])
    forbidden = client.get(f"/retention/holds/new/{held.pk}/")
    missing = client.get("/retention/holds/new/999999/")
    assert forbidden.status_code == missing.status_code == 404
    assert _without_csrf(forbidden) == _without_csrf(missing)
    posted = client.post(f"/retention/holds/new/{held.pk}/", {"reason": REASON, "owner": "outsider",
                                                             "review_date": "2030-01-01"})
    assert posted.status_code == 404
    client.force_login(dep_people["owner"])
    assert client.get(f"/retention/holds/new/{held.pk}/").status_code == 200


def test_another_teams_hold_cannot_be_released_and_answers_as_missing(client, held, dep_people):
    hold = LegalHold.objects.get()
    client.force_login(dep_people["outsider"])
    assert client.post("/retention/holds/", {"hold": hold.pk, "reason": "Case concluded"}).status_code == 404
    assert client.post("/retention/holds/", {"hold": 999999, "reason": "Case concluded"}).status_code == 404
    hold.refresh_from_db()
    assert hold.active


@pytest.mark.parametrize("typed", ["LFR-{:05d}", "lfr-{:05d}", "{:05d}", "{}", " LFR-{:05d} "])
def test_the_report_takes_the_reference_as_shown(client, scheduled, make_user, typed):
    client.force_login(make_user("dpo-r", Role.DPO))
    response = client.get("/retention/", {"deployment": typed.format(scheduled.pk)})
    assert response.status_code == 200
    assert f'data-testid="deployment-report-{scheduled.pk}"' in response.content.decode()


@pytest.mark.parametrize("typed", ["LFR-", "LFR-2x", "two", "-1", "1e3", "99999999999999999999999"])
def test_the_report_refuses_anything_else_with_a_message(client, scheduled, make_user, typed):
    client.force_login(make_user("dpo-r", Role.DPO))
    response = client.get("/retention/", {"deployment": typed})
    assert response.status_code == 400
    assert "Give the deployment as it is shown, e.g. LFR-00002" in response.content.decode()
    export = client.get("/retention/report.csv", {"deployment": typed, "justification": "Quarterly report to ICO"})
    assert export.status_code == 400 and "e.g. LFR-00002" in export.content.decode()


def test_a_missing_deployment_is_still_404(client, scheduled, make_user):
    client.force_login(make_user("dpo-r", Role.DPO))
    assert client.get("/retention/", {"deployment": "LFR-99999"}).status_code == 404
