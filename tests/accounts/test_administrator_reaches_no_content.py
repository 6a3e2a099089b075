"""GOVERNANCE.md: an administrator manages users, roles, ranks, edge nodes and model packs, and never reads
watchlist images or alerts unless also given a role that may. Checked at every address that serves a watchlist
image, an alert's probe or reference image, or the alert console, after the administrator has granted each role
to someone else, as a member of the team that owns the watchlist and the deployment (the worst case)."""

import pytest
from django.contrib.auth.models import User

from lfr_governance.accounts.choices import Role
from lfr_governance.accounts.roles import user_roles
from lfr_governance.accounts.services import person_role_grant

from .conftest import JUSTIFICATION

pytestmark = pytest.mark.django_db
HEADERS = {"HTTP_X_JUSTIFICATION": JUSTIFICATION}


def _justifications(watchlist, deployment) -> list[tuple[str, str, dict]]:
    """The posts that record a reason for viewing in the session: tried first, so no page is refused only for
    want of a reason."""
    return [("post", f"/watchlists/{watchlist.pk}/justify/", {"justification": JUSTIFICATION}),
            ("post", f"/alerts/deployments/{deployment.pk}/justify/", {"justification": JUSTIFICATION})]


def _image_addresses(watchlist, image) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/watchlists/{watchlist.pk}/", {}),
        ("get", f"/watchlists/{watchlist.pk}/justify/", {}),
        ("get", f"/watchlists/images/{image.pk}/", {}),
        ("get", f"/watchlists/images/{image.pk}/file/", {}),
        ("get", f"/api/v1/watchlists/{watchlist.pk}/", {}),
        ("get", f"/api/v1/watchlists/{watchlist.pk}/entries/", {}),
        ("get", f"/api/v1/entries/{image.entry_id}/", {}),
        ("get", f"/api/v1/images/{image.pk}/", {}),
        ("get", f"/api/v1/images/{image.pk}/content/", {}),
    ]


def _alert_addresses(deployment, alert) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/alerts/deployments/{deployment.pk}/justify/", {}),
        ("get", f"/alerts/deployments/{deployment.pk}/", {}),
        ("get", f"/alerts/deployments/{deployment.pk}/feed.json", {}),
        ("get", f"/alerts/{alert.pk}/probe/", {}),
        ("get", f"/alerts/{alert.pk}/reference/", {}),
        ("get", f"/alerts/{alert.pk}/sightings/", {}),
    ]


def _alert_decisions(alert) -> list[tuple[str, str, dict]]:
    return [("post", f"/alerts/{alert.pk}/adjudicate/", {"decision": "confirmed"}),
            ("post", f"/alerts/{alert.pk}/outcome/", {"outcome": "arrested", "outcome_text": ""})]


def _answers(client, addresses) -> dict[str, int]:
    return {f"{method.upper()} {url}": getattr(client, method)(url, data, **HEADERS).status_code
            for method, url, data in addresses}


@pytest.mark.parametrize("granted", list(Role))
def test_an_administrator_reaches_no_image_probe_or_alert(client, dep_people, make_user, watchlist, image, alert,
                                                          granted):
    admin = dep_people["admin"]
    assert user_roles(admin) == {Role.ADMINISTRATOR}
    assert admin.profile.team == watchlist.team == alert.deployment.team
    colleague = make_user("newcolleague")
    person_role_grant(actor=admin, person=colleague, role=granted)
    assert user_roles(User.objects.get(pk=colleague.pk)) == {granted}

    client.force_login(admin)
    deployment = alert.deployment
    addresses = (_justifications(watchlist, deployment) + _image_addresses(watchlist, image)
                 + [("get", f"/watchlists/{watchlist.pk}/review/", {})]
                 + _alert_addresses(deployment, alert) + [("get", "/alerts/", {})] + _alert_decisions(alert)
                 + [("get", "/audit/subject/", {"subject_ref": image.entry.subject_ref, "justification": JUSTIFICATION})])
    answers = _answers(client, addresses)
    reached = {address: status for address, status in answers.items() if status not in (403, 404)}
    assert not reached, reached
    alert.refresh_from_db()
    assert not alert.decision


def test_the_addresses_are_live_for_the_people_entitled(client, dep_people, watchlist, image, alert):
    """The same addresses answer 200 to the owner (images) and the assigned operator (alerts), so the matrix
    above is refused by access, not by a wrong address."""
    deployment = alert.deployment
    client.force_login(dep_people["owner"])
    assert client.post(f"/watchlists/{watchlist.pk}/justify/", {"justification": JUSTIFICATION}).status_code == 302
    assert set(_answers(client, _image_addresses(watchlist, image)).values()) == {200}
    client.force_login(dep_people["reviewer"])
    assert client.get(f"/watchlists/{watchlist.pk}/review/").status_code == 200
    client.force_login(dep_people["operator"])
    assert client.post(f"/alerts/deployments/{deployment.pk}/justify/",
                       {"justification": JUSTIFICATION}).status_code == 302
    assert set(_answers(client, _alert_addresses(deployment, alert) + [("get", "/alerts/", {})]).values()) == {200}
