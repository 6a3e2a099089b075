"""A revoke path for every grant: each grant of a role, a team, an object permission or a token is taken back by a
service that the people who may grant reach (page or API), audited with who and whom, and afterwards the person gets
the project's answer for what they may not see (404 alike for missing and forbidden objects; 403 for a role page;
401 for an edge node's token).

| grant | revoke | test here |
|---|---|---|
| person_role_grant (a role's group) | person_role_revoke | test_a_role_granted_then_revoked |
| person_team_set / user_create team (the team's object permissions, through its group) | person_team_set | test_a_team_joined_then_left |
| watchlist_reviewer_assign | watchlist_reviewer_unassign (API .../reviewers/remove/, page) | test_a_reviewer_* |
| deployment_submit (the authorising officer on the deployment and its watchlist) | deployment_withdraw; submitting to another officer | test_an_authorising_officer_* |
| operator_assign | operator_unassign (API .../operators/remove/, page) | test_an_operator_* |
| edge_node_register (a token) | edge_node_revoke | test_an_edge_node_token_registered_then_revoked |
| legal_hold_place | legal_hold_release | tests/retention/test_alerts_holds.py and test_a_legal_hold_placed_then_released |

The grantees belong to another team, so that their own team's access never stands in for the grant under test.
"""

from datetime import timedelta

import pytest
from django.http import Http404
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from deployments import services as deployment_services
from lfr_governance import clock
from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.models import Team
from lfr_governance.accounts.services import person_role_grant, person_role_revoke, person_team_set
from lfr_governance.audit.models import AuditEvent
from lfr_governance.audit.services import audit_chain_verify
from lfr_governance.retention import holds
from watchlists import selectors as watchlist_selectors

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def elsewhere(dep_people, make_user):
    """People of another team: what they see comes only from the grants the tests make."""
    other = Team.objects.get(name="Another Borough Unit")
    return {
        "reviewer": make_user("reviewer_x", Role.REVIEWER, team_=other),
        "ao": make_user("ao_x", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT, team_=other),
        "ao2": make_user("ao_y", Role.AUTHORISING_OFFICER, rank=Rank.CHIEF_SUPERINTENDENT, team_=other),
        "operator": make_user("operator_x", Role.OPERATOR, team_=other),
        "admin": dep_people["admin"],
        "owner": dep_people["owner"],
    }


def _audited(event: str, actor, **changes) -> AuditEvent:
    row = AuditEvent.objects.filter(event=event).latest("id")
    assert row.actor == actor and row.action == "alteration", event
    for key, value in changes.items():
        assert row.changes[key] == value, (event, key, row.changes)
    return row


# --- Roles and teams (lfr_governance/accounts) -----------------------------------------------------


def test_a_role_granted_then_revoked(elsewhere):
    person, admin = elsewhere["operator"], elsewhere["admin"]
    page = _page(person)
    assert page.get(reverse("retention:report")).status_code == 403
    person_role_grant(actor=admin, person=person, role=Role.DPO)
    assert page.get(reverse("retention:report")).status_code == 200
    person_role_revoke(actor=admin, person=person, role=Role.DPO)
    assert page.get(reverse("retention:report")).status_code == 403
    _audited("person.role_revoke", admin, role="dpo", person="operator_x")


def test_a_team_joined_then_left(elsewhere, application, dep_people):
    admin, outsider = elsewhere["admin"], dep_people["outsider"]
    client = _api(outsider)
    watchlist = application.watchlist_version.watchlist
    person_team_set(actor=admin, person=outsider, team=application.team)
    assert client.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 200
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 200
    person_team_set(actor=admin, person=outsider, team=None)
    assert client.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 404
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 404
    _audited("person.team_set", admin, person="outsider")


# --- Reviewers (watchlists) --------------------------------------------------------------------------


def test_a_reviewer_assigned_then_removed_through_the_api(elsewhere, frozen):
    owner, reviewer = elsewhere["owner"], elsewhere["reviewer"]
    watchlist = frozen.watchlist
    theirs = _api(reviewer)
    assert theirs.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 404
    ours = _api(owner)
    assert ours.post(f"{API}/watchlists/{watchlist.pk}/reviewers/", {"reviewer": "reviewer_x"},
                     format="json").status_code == 200
    assert theirs.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 200
    response = ours.post(f"{API}/watchlists/{watchlist.pk}/reviewers/remove/", {"reviewer": "reviewer_x"},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"watchlist": watchlist.pk, "reviewer": "reviewer_x"}
    assert theirs.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 404
    entry = frozen.entries.first()
    assert theirs.get(f"{API}/entries/{entry.pk}/").status_code == 404
    _audited("watchlist.reviewer_unassign", owner, reviewer="reviewer_x",
             permissions=["view_watchlist", "review_watchlist", "view_watchlist_images"])
    # Removing them again is refused by name; so is removing anyone by someone who cannot build the watchlist.
    again = ours.post(f"{API}/watchlists/{watchlist.pk}/reviewers/remove/", {"reviewer": "reviewer_x"}, format="json")
    assert again.status_code == 400 and "is not a reviewer of this watchlist" in again.json()["fields"]["reviewer"][0]
    assert _api(elsewhere["reviewer"]).post(f"{API}/watchlists/{watchlist.pk}/reviewers/remove/",
                                            {"reviewer": "reviewer"}, format="json").status_code == 404
    assert audit_chain_verify().ok


def test_a_reviewer_removed_on_the_page(elsewhere, watchlist):
    owner, reviewer = elsewhere["owner"], elsewhere["reviewer"]
    from watchlists import services as watchlist_services

    watchlist_services.watchlist_reviewer_assign(actor=owner, watchlist=watchlist, reviewer=reviewer)
    page = _page(owner)
    detail = page.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    assert reverse("watchlists:reviewer_unassign", args=[watchlist.pk]) in detail and f'value="{reviewer.pk}"' in detail
    response = page.post(reverse("watchlists:reviewer_unassign", args=[watchlist.pk]), {"reviewer": reviewer.pk})
    assert response.status_code == 302
    assert _page(reviewer).get(reverse("watchlists:detail", args=[watchlist.pk])).status_code == 404
    # Someone who may not build it (the removed reviewer, another team) gets the not-found answer.
    assert _page(reviewer).post(reverse("watchlists:reviewer_unassign", args=[watchlist.pk]),
                                {"reviewer": reviewer.pk}).status_code == 404


def test_a_reviewer_who_is_also_the_authorising_officer_keeps_sight_until_that_grant_goes(elsewhere, application):
    owner, admin, officer = elsewhere["owner"], elsewhere["admin"], elsewhere["ao"]
    from watchlists import services as watchlist_services

    watchlist = application.watchlist_version.watchlist
    person_role_grant(actor=admin, person=officer, role=Role.REVIEWER)
    watchlist_services.watchlist_reviewer_assign(actor=owner, watchlist=watchlist, reviewer=officer)
    deployment_services.deployment_submit(actor=owner, deployment=application, authorising_officer=officer)
    watchlist_services.watchlist_reviewer_unassign(actor=owner, watchlist=watchlist, reviewer=officer)
    assert watchlist_selectors.watchlist_get(officer, watchlist.pk) == watchlist  # still the officer it is before
    assert not watchlist_selectors.may_review(officer, watchlist)
    _audited("watchlist.reviewer_unassign", owner, permissions=["review_watchlist"])
    assert _api(owner).post(f"{API}/deployments/{application.pk}/withdraw/").status_code == 200
    client = _api(officer)
    assert client.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 404
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 404


# --- Authorising officers (deployments) ----------------------------------------------------------------


def test_an_authorising_officer_submitted_to_then_withdrawn_from(elsewhere, application):
    owner, officer = elsewhere["owner"], elsewhere["ao"]
    watchlist = application.watchlist_version.watchlist
    client = _api(officer)
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 404
    assert _api(owner).post(f"{API}/deployments/{application.pk}/submit/", {"authorising_officer": "ao_x"},
                            format="json").status_code == 200
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 200
    assert client.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 200
    assert _api(owner).post(f"{API}/deployments/{application.pk}/withdraw/").status_code == 200
    assert client.get(f"{API}/deployments/{application.pk}/").status_code == 404
    assert client.get(f"{API}/watchlists/{watchlist.pk}/").status_code == 404
    # Nor may they decide or cancel it any longer.
    assert client.post(f"{API}/deployments/{application.pk}/authorise/", {"reasons": "Proportionate."},
                       format="json").status_code == 404
    assert client.post(f"{API}/deployments/{application.pk}/cancel/", {"reason": "No longer needed."},
                       format="json").status_code == 404
    _audited("deployment.authorising_officer_release", owner, authorising_officer="ao_x",
             deployment_permissions=["authorise_deployment", "view_deployment"],
             watchlist_permissions=["view_watchlist", "view_watchlist_images"])
    assert audit_chain_verify().ok


def test_an_authorising_officer_replaced_when_the_application_goes_to_another(elsewhere, application):
    """Authorised, returned to draft by a change to what it binds, then submitted to another officer: the first
    officer can no longer decide, cancel or see it; the second can."""
    owner, first, second = elsewhere["owner"], elsewhere["ao"], elsewhere["ao2"]
    deployment_services.deployment_submit(actor=owner, deployment=application, authorising_officer=first)
    deployment_services.deployment_authorise(actor=first, deployment=application, reasons="Proportionate.")
    application.refresh_from_db()
    deployment_services.deployment_update(actor=owner, deployment=application,
                                          ends_at=application.ends_at - timedelta(minutes=30))
    assert _api(first).get(f"{API}/deployments/{application.pk}/").status_code == 200  # it is still theirs
    assert _api(owner).post(f"{API}/deployments/{application.pk}/submit/", {"authorising_officer": "ao_y"},
                            format="json").status_code == 200
    before_first = _api(first)
    assert before_first.post(f"{API}/deployments/{application.pk}/authorise/", {"reasons": "Proportionate."},
                             format="json").status_code == 404
    assert before_first.get(f"{API}/deployments/{application.pk}/").status_code == 404
    assert before_first.get(f"{API}/watchlists/{application.watchlist_version.watchlist_id}/").status_code == 404
    assert _api(second).get(f"{API}/deployments/{application.pk}/").status_code == 200
    _audited("deployment.authorising_officer_release", owner, authorising_officer="ao_x")


# --- Operators (deployments) -------------------------------------------------------------------------


def test_an_operator_assigned_then_removed_through_the_api(elsewhere, live):
    owner, operator = elsewhere["owner"], elsewhere["operator"]
    page = _page(operator)
    console = reverse("matching:console", args=[live.pk])
    assert page.get(console).status_code == 404
    ours = _api(owner)
    assert ours.post(f"{API}/deployments/{live.pk}/operators/", {"operator": "operator_x"},
                     format="json").status_code == 200
    opened = page.get(console)  # the console asks for the reason for viewing first: access, not a refusal
    assert opened.status_code == 302 and opened.url.startswith(reverse("matching:justify", args=[live.pk]))
    response = ours.post(f"{API}/deployments/{live.pk}/operators/remove/", {"operator": "operator_x"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"deployment": live.pk, "operator": "operator_x"}
    assert page.get(console).status_code == 404
    assert _api(operator).get(f"{API}/deployments/{live.pk}/").status_code == 404
    assert not live.operators.filter(pk=operator.pk).exists()
    _audited("deployment.operator_unassign", owner, operator="operator_x",
             permissions=["operate_deployment", "view_deployment"])
    again = ours.post(f"{API}/deployments/{live.pk}/operators/remove/", {"operator": "operator_x"}, format="json")
    assert again.status_code == 400 and "is not an operator" in again.json()["fields"]["operator"][0]


def test_an_operator_removed_on_the_page(elsewhere, live, dep_people):
    owner, operator = elsewhere["owner"], dep_people["operator"]  # assigned by the `live` fixture
    page = _page(owner)
    detail = page.get(reverse("deployments:detail", args=[live.pk])).content.decode()
    assert reverse("deployments:operator_unassign", args=[live.pk]) in detail
    response = page.post(reverse("deployments:operator_unassign", args=[live.pk]), {"operator": operator.pk})
    assert response.status_code == 302
    # The fixture's operator is of the applicant's team, which sees the deployment; the console is the grant.
    assert _page(operator).get(reverse("matching:console", args=[live.pk])).status_code == 404
    # An operator cannot remove themselves or others: only the applicant's team can.
    assert _page(operator).post(reverse("deployments:operator_unassign", args=[live.pk]),
                                {"operator": operator.pk}).status_code == 404


# --- Edge node tokens and legal holds --------------------------------------------------------------------


def test_an_edge_node_token_registered_then_revoked(elsewhere, client):
    admin = elsewhere["admin"]
    node, token = deployment_services.edge_node_register(actor=admin, name="Van 9 camera 2",
                                                         camera_description="Mast camera facing south")
    status = lambda: client.get("/api/edge/v1/status", HTTP_AUTHORIZATION=f"Bearer {token}").status_code  # noqa: E731
    assert status() == 200
    assert _api(admin).post(f"{API}/edge-nodes/{node.pk}/revoke/").status_code == 200
    assert status() == 401
    row = AuditEvent.objects.filter(event="edge_node.revoke").latest("id")
    assert row.actor == admin and row.changes == {"token_prefix": node.token_prefix}


def test_a_legal_hold_placed_then_released(dep_people, alert):
    owner = dep_people["owner"]
    hold = holds.legal_hold_place(actor=owner, alert=alert, reason="Evidence in R v Example (2026)", owner=owner,
                                  review_date=clock.localdate() + timedelta(days=30))
    assert hold.active
    released = holds.legal_hold_release(actor=owner, hold=hold, reason="Case concluded")
    assert not released.active
    row = AuditEvent.objects.filter(event="retention.hold_release").latest("id")
    assert row.actor == owner and row.changes["alert"] == str(alert.pk)
    # Who may place it may release it; nobody else (another team's officer gets the not-found answer).
    with pytest.raises(Http404):
        holds.hold_target_get(dep_people["outsider"], alert.pk)
