"""The deployments REST API: who gets what from every endpoint, and the journeys through it."""

import csv
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from deployments import selectors, services
from deployments.choices import DeploymentStatus
from deployments.models import Deployment, EdgeNode
from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.audit.models import AuditEvent
from tests.watchlists.conftest import png_bytes

from .calibration_fixture import expected_proposal
from .conftest import APPLICATION

pytestmark = pytest.mark.django_db

API = "/api/v1"
S = DeploymentStatus


def application_json(version_id: int, node_ids: list[int], start, end, **fields) -> dict:
    values = {**APPLICATION, "watchlist_version": version_id, "edge_nodes": node_ids,
              "starts_at": start.isoformat(), "ends_at": end.isoformat(), **fields}
    for key in ("latitude", "longitude"):
        values[key] = str(values[key])
    return values


def sign_json(placed_at, **fields) -> dict:
    return {"position_description": "Lamp post 14, north side", "latitude": "51.507500", "longitude": "-0.127700",
            "size": "A1 (594 x 841 mm)", "placed_at": placed_at.isoformat(), **fields}


@pytest.fixture
def api():
    """api(user) -> a client signed in through the session, as a browser would be; api(None) is anonymous."""

    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return _client


@pytest.fixture
def clock(monkeypatch):
    """clock.set(t) makes timezone.now() answer t everywhere (the schedule tick and the services)."""

    class Clock:
        def set(self, moment):
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def elsewhere(dep_people, make_user):
    """People of another team, so that only being named or assigned gives them a deployment.

    dep_people["ao"] and dep_people["operator"] belong to the applicant's team, whose group may view
    (and change) the team's deployments; the matrix keeps that operator as `team_operator`.
    """
    from lfr_governance.accounts.services import team_get_or_create

    other_team = team_get_or_create(name="Another Borough Unit")
    return {
        "ao": make_user("ao_elsewhere", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT, team_=other_team),
        "operator": make_user("op_elsewhere", Role.OPERATOR, team_=other_team),
        "assigned": make_user("op_assigned", Role.OPERATOR, team_=other_team),
    }


# --- Who gets what ---------------------------------------------------------------------------

ROLES = ("anonymous", "outsider", "owner", "ao", "team_operator", "operator", "assigned", "admin")
OBJECT_HIDDEN = {"outsider": 404, "operator": 404, "admin": 404}  # no view permission: not found, alike


def on_object(owner: int, ao: int, assigned: int) -> dict:
    # The applicant's team may view its deployments, so an operator of that team meets the service's
    # checks exactly as an assigned operator does: may look, may not act.
    return {**OBJECT_HIDDEN, "owner": owner, "ao": ao, "assigned": assigned, "team_operator": assigned}


def everyone(code: int) -> dict:
    return {role: code for role in ROLES if role != "anonymous"}


def admin_only(code: int) -> dict:
    return {**everyone(403), "admin": code}


# (name, state of the scene's deployment, method, path, request, {role: status}). Anonymous gets 403 with
# code not_authenticated unless the endpoint is public. The AO is named at submission, so before it (draft)
# the AO sees nothing; after it the AO sees the deployment but may only decide, confirm and cancel.
ENDPOINTS = [
    ("deployment list", "draft", "get", "/deployments/", None, everyone(200)),
    # The outsider may apply but cannot see the watchlist: 400 on watchlist_version, as for a missing one.
    ("deployment create", "draft", "post", "/deployments/",
     lambda s: application_json(s.version, [s.node], s.start, s.end),
     {**everyone(403), "outsider": 400, "owner": 201}),
    ("deployment detail", "submitted", "get", "/deployments/{deployment}/", None, on_object(200, 200, 200)),
    ("deployment update", "submitted", "patch", "/deployments/{deployment}/",
     lambda s: {"engagement_notes": "Briefed the ward councillors."}, on_object(200, 403, 403)),
    ("submit", "draft", "post", "/deployments/{deployment}/submit/", lambda s: {"authorising_officer": "ao_elsewhere"},
     on_object(200, 404, 403)),
    ("withdraw", "submitted", "post", "/deployments/{deployment}/withdraw/", None, on_object(200, 403, 403)),
    ("authorise", "submitted", "post", "/deployments/{deployment}/authorise/",
     lambda s: {"reasons": "Necessary and proportionate."}, on_object(403, 200, 403)),
    ("reject", "submitted", "post", "/deployments/{deployment}/reject/",
     lambda s: {"reasons": "The footfall estimate is unsupported."}, on_object(403, 200, 403)),
    ("schedule", "authorised", "post", "/deployments/{deployment}/schedule/", None, on_object(200, 403, 403)),
    ("cancel", "submitted", "post", "/deployments/{deployment}/cancel/",
     lambda s: {"reason": "The subjects were arrested elsewhere."}, on_object(200, 200, 403)),
    ("review", "ended", "post", "/deployments/{deployment}/review/",
     lambda s: {"what_happened": "Quiet afternoon; no alerts."}, on_object(200, 403, 403)),
    ("authorisation confirm", "urgent", "post", "/authorisations/{authorisation}/confirm/",
     lambda s: {"text": "Confirming the oral authorisation given at 14:05."}, on_object(403, 200, 403)),
    ("signage add", "scheduled", "post", "/deployments/{deployment}/signage/",
     lambda s: sign_json(s.start, photo=SimpleUploadedFile("sign.png", png_bytes(), "image/png")),
     on_object(201, 403, 403)),
    ("signage removed", "signed", "post", "/signage/{sign}/removed/",
     lambda s: {"removed_at": (s.end + timedelta(minutes=10)).isoformat()}, on_object(200, 403, 403)),
    ("leaflets add", "scheduled", "post", "/deployments/{deployment}/leaflets/",
     lambda s: {"count": 250, "window_start": (s.start - timedelta(days=1)).isoformat(),
                "window_end": (s.start - timedelta(hours=20)).isoformat(), "where": "High Street shops"},
     on_object(201, 403, 403)),
    ("operator assign", "submitted", "post", "/deployments/{deployment}/operators/",
     lambda s: {"operator": "op_elsewhere"}, on_object(200, 403, 403)),
    ("edge node list", "draft", "get", "/edge-nodes/", None, admin_only(200)),
    ("edge node register", "draft", "post", "/edge-nodes/",
     lambda s: {"name": "Van 9 camera 2", "camera_description": "Mast camera facing south"}, admin_only(201)),
    ("edge node revoke", "draft", "post", "/edge-nodes/{node}/revoke/", None, admin_only(200)),
    ("published list", "scheduled", "get", "/published/", None, everyone(200)),
    ("published csv", "scheduled", "get", "/published.csv", None, everyone(200)),
]
PUBLIC = {"published list", "published csv"}
MULTIPART = {"signage add"}


def build_scene(state: str, people, elsewhere, frozen, node, window) -> SimpleNamespace:
    """A deployment in `state`, built with the real services: submitted to elsewhere["ao"], with
    elsewhere["assigned"] assigned as its operator."""
    owner, ao, assigned_operator = people["owner"], elsewhere["ao"], elsewhere["assigned"]
    deployment = services.deployment_create(actor=owner, watchlist_version=frozen, edge_nodes=[node],
                                            starts_at=window[0], ends_at=window[1], **APPLICATION)
    services.operator_assign(actor=owner, deployment=deployment, operator=assigned_operator)
    authorisation = sign = None
    if state != "draft":
        services.deployment_submit(actor=owner, deployment=deployment, authorising_officer=ao)
    if state in ("authorised", "urgent", "scheduled", "signed", "ended"):
        authorisation = services.deployment_authorise(actor=ao, deployment=deployment, reasons="Proportionate.",
                                                      urgent_oral=state == "urgent")
    if state in ("scheduled", "signed", "ended"):
        services.deployment_schedule(actor=owner, deployment=deployment)
    if state == "signed":
        sign = services.signage_record_add(actor=owner, deployment=deployment, position_description="Lamp post 14",
                                           latitude="51.507500", longitude="-0.127700", size="A1",
                                           placed_at=window[0])
    if state == "ended":
        services.deployment_end(deployment=deployment, reason="end time reached")
    deployment.refresh_from_db()
    assert deployment.status == {"urgent": S.AUTHORISED, "signed": S.SCHEDULED}.get(state, state)
    return SimpleNamespace(deployment=deployment.pk, authorisation=authorisation.pk if authorisation else None,
                           sign=sign.pk if sign else None, node=node.pk, version=frozen.pk, start=window[0],
                           end=window[1])


@pytest.mark.parametrize("name, state, method, path, body, expected", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_access_matrix(api, dep_people, elsewhere, frozen, node, window, name, state, method, path, body, expected):
    scene = build_scene(state, dep_people, elsewhere, frozen, node, window)
    people = {**dep_people, **elsewhere, "team_operator": dep_people["operator"]}
    clients = {role: api(people.get(role)) for role in ROLES}  # signed in before any savepoint
    url = API + path.format(**vars(scene))
    got = {}
    for role in ROLES:
        # Each person meets the same scene: whatever one request changed is rolled back before the next.
        savepoint = transaction.savepoint()
        kwargs = {"format": "multipart" if name in MULTIPART else "json"} if body else {}
        response = getattr(clients[role], method)(url, body(scene) if body else None, **kwargs)
        transaction.savepoint_rollback(savepoint)
        got[role] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"detail", "code", "fields"}, (name, role, response.content[:300])
            if role == "anonymous":
                assert response.json()["code"] == "not_authenticated"
    want = {"anonymous": 200 if name in PUBLIC else 403, **expected}
    assert got == want, name


@pytest.mark.parametrize("path", ["/deployments/{}/", "/deployments/{}/submit/", "/authorisations/{}/confirm/",
                                  "/signage/{}/removed/"])
def test_missing_and_forbidden_answer_alike(api, dep_people, elsewhere, frozen, node, window, path):
    scene = build_scene("signed", dep_people, elsewhere, frozen, node, window)
    existing = {"/deployments/{}/": scene.deployment, "/deployments/{}/submit/": scene.deployment,
                "/authorisations/{}/confirm/": scene.authorisation, "/signage/{}/removed/": scene.sign}[path]
    client = api(dep_people["outsider"])
    method = client.get if path == "/deployments/{}/" else client.post
    forbidden, missing = method(API + path.format(existing)), method(API + path.format(999_999))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


@pytest.mark.parametrize("role, listed", [("owner", True), ("colleague", True), ("outsider", False),
                                          ("operator", True), ("ao2", True), ("reviewer", False), ("admin", False)])
def test_list_shows_only_visible_deployments(api, application, dep_people, role, listed):
    # The applicant's team (whatever their role, if it may view deployments) sees the team's applications.
    response = api(dep_people[role]).get(f"{API}/deployments/")
    assert response.status_code == 200
    assert (application.pk in [d["id"] for d in response.json()["results"]]) is listed


def test_the_named_officer_sees_it_only_once_submitted(api, application, dep_people, elsewhere):
    officer = api(elsewhere["ao"])
    url = f"{API}/deployments/{application.pk}/"
    assert officer.get(url).status_code == 404
    response = api(dep_people["owner"]).post(f"{url}submit/", {"authorising_officer": "ao_elsewhere"},
                                             format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted" and response.json()["authorising_officer"] == "ao_elsewhere"
    assert officer.get(url).status_code == 200
    assert [d["id"] for d in officer.get(f"{API}/deployments/").json()["results"]] == [application.pk]
    # An officer who was not named cannot decide it, even one of the applicant's team who may look at it.
    response = api(dep_people["ao2"]).post(f"{url}authorise/", {"reasons": "Fine."}, format="json")
    assert response.status_code == 403
    response = officer.post(f"{url}authorise/", {"reasons": "Necessary and proportionate."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "authorised"


def test_an_operator_sees_it_only_once_assigned(api, application, dep_people, elsewhere):
    operator = api(elsewhere["operator"])
    url = f"{API}/deployments/{application.pk}/"
    assert operator.get(url).status_code == 404
    assert operator.get(f"{API}/deployments/").json()["count"] == 0
    response = api(dep_people["owner"]).post(f"{url}operators/", {"operator": "op_elsewhere"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"deployment": application.pk, "operator": "op_elsewhere"}
    assert operator.get(url).status_code == 200
    assert operator.get(url).json()["operators"] == ["op_elsewhere"]
    assert [d["id"] for d in operator.get(f"{API}/deployments/").json()["results"]] == [application.pk]
    # An operator may watch it, not change it.
    assert operator.patch(url, {"engagement_notes": "x"}, format="json").status_code == 403
    # Only a person holding the operator role can be assigned.
    response = api(dep_people["owner"]).post(f"{url}operators/", {"operator": "reviewer"}, format="json")
    assert response.status_code == 400 and "operator role" in response.json()["fields"]["operator"][0]
    response = api(dep_people["owner"]).post(f"{url}operators/", {"operator": "nobody"}, format="json")
    assert response.json()["fields"]["operator"] == ["No active user has the username nobody."]


# --- The journey -----------------------------------------------------------------------------


def test_the_whole_life_through_the_api(api, dep_people, frozen, node, window, clock):
    owner, ao = api(dep_people["owner"]), api(dep_people["ao"])
    start, end = window
    response = owner.post(f"{API}/deployments/", application_json(frozen.pk, [node.pk], start, end), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    url = f"{API}/deployments/{created['id']}/"
    assert response["Location"] == url
    # Both thresholds default to their proposals (the synthetic calibration's, known in closed form).
    colour, greyscale = expected_proposal(frozen.size), expected_proposal(frozen.size, condition="greyscale")
    assert created["status"] == "draft" and created["applicant"] == "owner" and created["team"]
    assert created["threshold"] == colour and created["threshold_greyscale"] == greyscale
    assert created["watchlist_version"] == frozen.pk and created["watchlist_digest"] == frozen.digest
    assert created["edge_nodes"] == [{"id": node.pk, "name": node.name, "active": True}]
    proposal = created["proposal"]
    assert proposal["error"] == "" and proposal["target"] == 0.001 and proposal["watchlist_size"] == 3
    assert [c["condition"] for c in proposal["conditions"]] == ["colour", "greyscale"]
    for figures, expected in zip(proposal["conditions"], (colour, greyscale)):
        assert figures["proposal"]["threshold"] == expected and figures["threshold"] == expected
        assert figures["chosen"]["per_passer_by"] <= 0.001 and not figures["below_proposal"]
        assert figures["expected"] == pytest.approx(8000 * figures["chosen"]["per_passer_by"])
        assert figures["expected_upper_95"] >= figures["expected"] > 0 and figures["chosen"]["source"]
    assert created["confirmation_frames"] == 2 and proposal["confirmation_frames"] == 2 and proposal["bound"]
    assert created["authorisation"] is None and created["decisions"] == [] and created["signs"] == []

    response = owner.post(f"{url}submit/", {"authorising_officer": "ao"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    response = ao.post(f"{url}authorise/", {"reasons": "Necessary and proportionate."}, format="json")
    assert response.status_code == 200, response.content
    authorised = response.json()
    authorisation = authorised["authorisation"]
    assert authorised["status"] == "authorised"
    assert authorisation["decision"] == "authorised" and authorisation["authorising_officer"] == "ao"
    assert authorisation["reasons"] == "Necessary and proportionate." and authorisation["decided_at"]
    assert authorisation["urgent_oral"] is False and authorisation["written_confirmation_due_at"] is None
    assert authorisation["bound_watchlist_digest"] == frozen.digest
    assert authorisation["bound"]["edge_nodes"] == [node.pk]
    assert authorisation["estimate"]["watchlist_size"] == 3
    assert authorisation["estimate"]["model"] == "threshold_from_target"
    assert authorisation["bound"]["threshold"] == colour and authorisation["bound"]["threshold_greyscale"] == greyscale
    assert authorised["decisions"] == [authorisation]

    response = owner.post(f"{url}schedule/")
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    assert "No sign is recorded as placed: record the signage first." in response.json()["go_live_problems"]
    photo = SimpleUploadedFile("sign.png", png_bytes(), "image/png")
    response = owner.post(f"{url}signage/", sign_json(start, photo=photo), format="multipart")
    assert response.status_code == 201, response.content
    sign = response.json()
    assert sign["has_photo"] is True and sign["placed_by"] == "owner" and sign["removed_at"] is None
    response = owner.post(f"{url}leaflets/", {"count": 300, "window_start": (start - timedelta(days=1)).isoformat(),
                                              "window_end": (start - timedelta(hours=20)).isoformat(),
                                              "where": "High Street shops"}, format="json")
    assert response.status_code == 201 and response.json()["distributed_by"] == "owner"
    detail = owner.get(url).json()
    assert [s["id"] for s in detail["signs"]] == [sign["id"]] and detail["leaflets"][0]["count"] == 300

    # Processing opens by itself at the start time, and closes at the end time.
    clock.set(start + timedelta(seconds=5))
    assert services.deployments_schedule_tick()["opened"] == [created["id"]]
    live = owner.get(url).json()
    assert live["status"] == "live" and live["went_live_at"]
    clock.set(end)
    assert services.deployments_schedule_tick()["closed"] == [created["id"]]
    removed_at = (end + timedelta(minutes=15)).isoformat()
    response = owner.post(f"{API}/signage/{sign['id']}/removed/", {"removed_at": removed_at}, format="json")
    assert response.status_code == 200 and response.json()["removed_at"]
    response = owner.post(f"{url}review/", {"what_happened": "No alerts; signage and leaflets as planned.",
                                             "lessons": "Start earlier."}, format="json")
    assert response.status_code == 200, response.content
    reviewed = response.json()
    assert reviewed["status"] == "reviewed" and reviewed["review"]["reviewed_by"] == "owner"
    assert reviewed["review"]["lessons"] == "Start earlier." and reviewed["ended_at"]

    events = list(AuditEvent.objects.filter(deployment_id=created["id"]).order_by("id").values_list("event", flat=True))
    assert events == ["deployment.create", "deployment.submit", "deployment.authorise", "deployment.schedule",
                      "deployment.signage_add", "deployment.leaflet_add", "deployment.go_live", "deployment.end",
                      "deployment.signage_removed", "deployment.review"]
    published = api(None).get(f"{API}/published/").json()
    assert [(p["reference"], p["status"], p["signs"], p["leaflets"]) for p in published] == [
        (f"LFR-{created['id']:05d}", "reviewed", 1, 300)]


def test_cancel_through_the_api(api, scheduled, dep_people):
    url = f"{API}/deployments/{scheduled.pk}/"
    assert len(api(None).get(f"{API}/published/").json()) == 1
    response = api(dep_people["ao"]).post(f"{url}cancel/", {"reason": " "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = api(dep_people["ao"]).post(f"{url}cancel/", {"reason": "Intelligence changed."}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancelled_reason"] == "Intelligence changed."
    # No transition out of cancelled, and the record is no longer published.
    response = api(dep_people["owner"]).post(f"{url}schedule/")
    assert response.status_code == 400
    assert response.json()["detail"] == "A deployment that is cancelled cannot become scheduled."
    assert api(None).get(f"{API}/published/").json() == []


def test_withdraw_and_reject(api, application, dep_people):
    owner, ao = api(dep_people["owner"]), api(dep_people["ao"])
    url = f"{API}/deployments/{application.pk}/"
    owner.post(f"{url}submit/", {"authorising_officer": "ao"}, format="json")
    assert owner.post(f"{url}withdraw/").json()["status"] == "draft"
    assert ao.get(url).status_code == 200  # still named: it stays visible to the officer
    owner.post(f"{url}submit/", {"authorising_officer": "ao"}, format="json")
    response = ao.post(f"{url}reject/", {"reasons": ""}, format="json")
    assert response.status_code == 400 and "reasons" in response.json()["fields"]
    response = ao.post(f"{url}reject/", {"reasons": "The footfall estimate is unsupported."}, format="json")
    assert response.status_code == 200
    rejected = response.json()
    assert rejected["status"] == "rejected" and rejected["authorisation"] is None
    assert [(d["decision"], d["reasons"]) for d in rejected["decisions"]] == [
        ("rejected", "The footfall estimate is unsupported.")]


def test_an_urgent_oral_authorisation_is_confirmed_in_writing(api, application, dep_people):
    owner, ao = api(dep_people["owner"]), api(dep_people["ao"])
    url = f"{API}/deployments/{application.pk}/"
    owner.post(f"{url}submit/", {"authorising_officer": "ao"}, format="json")
    response = ao.post(f"{url}authorise/", {"reasons": "Imminent threat.", "urgent_oral": True}, format="json")
    authorisation = response.json()["authorisation"]
    assert authorisation["urgent_oral"] is True and authorisation["written_confirmation_due_at"]
    assert authorisation["written_confirmation_at"] is None
    confirm = f"{API}/authorisations/{authorisation['id']}/confirm/"
    assert owner.post(confirm, {"text": "Confirmed."}, format="json").status_code == 403
    assert ao.post(confirm, {"text": ""}, format="json").json()["fields"] == {"text": ["Write the confirmation."]}
    response = ao.post(confirm, {"text": "Confirming the oral authorisation given at 14:05."}, format="json")
    assert response.status_code == 200
    assert response.json()["written_confirmation_at"] and response.json()["id"] == authorisation["id"]
    assert owner.get(url).json()["authorisation"]["written_confirmation_text"].startswith("Confirming")
    response = ao.post(confirm, {"text": "Again."}, format="json")
    assert response.status_code == 400 and "needs no written confirmation" in response.json()["detail"]


def test_changing_what_was_authorised_returns_it_to_draft(api, scheduled, dep_people):
    url = f"{API}/deployments/{scheduled.pk}/"
    response = api(dep_people["owner"]).patch(url, {"engagement_notes": "Added a briefing."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    assert response.json()["engagement_notes"] == "Added a briefing."
    response = api(dep_people["owner"]).patch(url, {"location_name": "Market Square"}, format="json")
    assert response.status_code == 200
    changed = response.json()
    assert changed["status"] == "draft" and changed["authorisation"] is None
    assert changed["decisions"][0]["superseded_at"] and changed["location_name"] == "Market Square"


# --- Rules the services enforce, answered as field errors ------------------------------------


def test_applicant_cannot_authorise(api, dep_people, frozen, node, window, make_user):
    both = make_user("both", Role.INTELLIGENCE_OFFICER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    client = api(both)
    response = client.post(f"{API}/deployments/", application_json(frozen.pk, [node.pk], *window), format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    url = f"{API}/deployments/{pk}/"
    response = client.post(f"{url}submit/", {"authorising_officer": "both"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"authorising_officer": [
        "The applicant cannot authorise their own application: choose another officer."]}
    assert client.post(f"{url}authorise/", {"reasons": "Mine."}, format="json").status_code == 403
    assert Deployment.objects.get(pk=pk).status == S.DRAFT


def test_an_officer_below_the_rank_cannot_be_named(api, application, dep_people):
    response = api(dep_people["owner"]).post(f"{API}/deployments/{application.pk}/submit/",
                                              {"authorising_officer": "chiefinsp"}, format="json")
    assert response.status_code == 400 and "Chief Inspector" in response.json()["fields"]["authorising_officer"][0]


def test_threshold_below_the_proposal_needs_a_justification(api, dep_people, frozen, node, window):
    client = api(dep_people["owner"])
    floor = expected_proposal(frozen.size)  # the colour proposal
    body = application_json(frozen.pk, [node.pk], *window, threshold=floor - 0.05)
    response = client.post(f"{API}/deployments/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["threshold_justification"]
    assert "below the proposed threshold of" in response.json()["fields"]["threshold_justification"][0]
    assert not Deployment.objects.exists()

    response = client.post(f"{API}/deployments/", {**body, "threshold_justification": "Older custody images."},
                           format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["threshold"] == pytest.approx(floor - 0.05)
    assert created["proposal"]["conditions"][0]["proposal"]["threshold"] == floor
    assert created["proposal"]["conditions"][0]["below_proposal"] is True
    url = f"{API}/deployments/{created['id']}/"
    response = client.patch(url, {"threshold_justification": ""}, format="json")
    assert response.status_code == 400 and "threshold_justification" in response.json()["fields"]
    response = client.patch(url, {"threshold": 1.5}, format="json")
    assert response.status_code == 400 and "threshold" in response.json()["fields"]


def test_application_errors_name_the_field(api, dep_people, frozen, node, window):
    client = api(dep_people["owner"])
    start = window[0]
    response = client.post(f"{API}/deployments/",
                           application_json(frozen.pk, [node.pk], start, start + timedelta(hours=30)), format="json")
    assert response.status_code == 400 and "at most" in response.json()["fields"]["ends_at"][0]
    missing = {k: v for k, v in application_json(frozen.pk, [node.pk], *window).items() if k != "dpia_ref"}
    response = client.post(f"{API}/deployments/", missing, format="json")
    assert response.status_code == 400 and "dpia_ref" in response.json()["fields"]
    response = client.post(f"{API}/deployments/", application_json(999_999, [node.pk], *window), format="json")
    assert response.json()["fields"] == {"watchlist_version": ["Choose a watchlist you can see."]}
    response = client.post(f"{API}/deployments/", application_json(frozen.pk, [999_999], *window), format="json")
    assert response.json()["fields"] == {"edge_nodes": ["No active edge node has the id 999999."]}
    # A version that exists but is not visible answers as a missing one does.
    response = api(dep_people["outsider"]).post(f"{API}/deployments/", application_json(frozen.pk, [node.pk], *window),
                                                format="json")
    assert response.json()["fields"] == {"watchlist_version": ["Choose a watchlist you can see."]}
    # There is no writable status: it is ignored, and the application starts as a draft.
    response = client.post(f"{API}/deployments/", {**application_json(frozen.pk, [node.pk], *window),
                                                  "status": "scheduled"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "draft"


def test_a_refused_sign_photo_names_the_photo(api, scheduled, dep_people):
    text = SimpleUploadedFile("notes.txt", b"not a photograph", "text/plain")
    response = api(dep_people["owner"]).post(f"{API}/deployments/{scheduled.pk}/signage/",
                                             sign_json(scheduled.starts_at, photo=text), format="multipart")
    assert response.status_code == 400 and "JPEG or PNG" in response.json()["fields"]["photo"][0]
    assert not scheduled.signs.exists()


# --- Edge nodes ------------------------------------------------------------------------------


def test_an_edge_node_token_is_shown_once(api, dep_people, application):
    admin = api(dep_people["admin"])
    response = admin.post(f"{API}/edge-nodes/", {"name": "Van 9 camera 2", "camera_description": "Mast camera",
                                                 "latitude": "51.500000", "longitude": "-0.120000"}, format="json")
    assert response.status_code == 201, response.content
    registered = response.json()
    token = registered["token"]
    assert token.startswith("lfr_") and registered["token_prefix"] == token[:10]
    assert "not be shown again" in registered["token_note"] and "no-store" in response["Cache-Control"]
    assert selectors.edge_node_for_token(token).pk == registered["id"]
    node = EdgeNode.objects.get(pk=registered["id"])

    listed = admin.get(f"{API}/edge-nodes/")
    assert listed.status_code == 200
    assert {n["name"]: n["deployments"] for n in listed.json()["results"]} == {"Van 7 camera 1": 1,
                                                                               "Van 9 camera 2": 0}
    revoked = admin.post(f"{API}/edge-nodes/{node.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["active"] is False and revoked.json()["revoked_at"]
    assert selectors.edge_node_for_token(token) is None
    assert admin.post(f"{API}/edge-nodes/999999/revoke/").status_code == 404
    # Never again: not in the list, the revoke answer, or a deployment's record; nor the token's hash.
    others = [listed, revoked, api(dep_people["owner"]).get(f"{API}/deployments/{application.pk}/")]
    for response in others:
        text = response.content.decode()
        assert token not in text and node.token_hash not in text and '"token"' not in text
    # A revoked node cannot be chosen for an application.
    response = api(dep_people["owner"]).patch(f"{API}/deployments/{application.pk}/", {"edge_nodes": [node.pk]},
                                              format="json")
    assert response.status_code == 400 and "edge_nodes" in response.json()["fields"]


# --- Published record ------------------------------------------------------------------------


def test_published_records_hold_no_personal_data(api, scheduled, dep_people, frozen, draft_and_cancelled):
    anonymous = api(None)
    response = anonymous.get(f"{API}/published/")
    assert response.status_code == 200
    records = response.json()
    assert [r["reference"] for r in records] == [f"LFR-{scheduled.pk:05d}"]  # not drafts, rejections, cancellations
    record = records[0]
    assert record["watchlist_size"] == 3 and record["model_pack"] == frozen.pack_id
    assert record["place"] == APPLICATION["location_name"] and record["duration_minutes"] == 240
    for figure in ("faces_processed", "frames_processed", "alerts", "true_alerts", "false_alerts", "engagements",
                   "arrests"):
        assert record[figure] == 0, figure

    csv_response = anonymous.get(f"{API}/published.csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert list(rows[0]) == list(record) and len(rows) == 1
    assert {k: "" if v is None else str(v) for k, v in record.items()} == rows[0]  # null is an empty cell
    # A browser-like client that asks for HTML still gets the CSV.
    assert anonymous.get(f"{API}/published.csv", HTTP_ACCEPT="text/html").status_code == 200

    personal = [p.get_username() for p in dep_people.values()] + [
        "Tester", APPLICATION["intelligence_case_ref"], APPLICATION["dpia_ref"], "PNC-0", "INT/2026",
        frozen.digest, frozen.watchlist.operation_name,
    ]
    for body in (response.content.decode(), csv_response.content.decode()):
        for word in personal:
            assert not re.search(rf"\b{re.escape(word)}\b", body), word


@pytest.fixture
def draft_and_cancelled(dep_people, frozen, node, window):
    owner = dep_people["owner"]
    draft = services.deployment_create(actor=owner, watchlist_version=frozen, edge_nodes=[node],
                                       starts_at=window[0], ends_at=window[1], **APPLICATION)
    cancelled = services.deployment_create(actor=owner, watchlist_version=frozen, edge_nodes=[node],
                                           starts_at=window[0], ends_at=window[1], **APPLICATION)
    services.deployment_cancel(actor=owner, deployment=cancelled, reason="No longer needed.")
    return draft, cancelled


def test_a_formula_in_a_place_name_is_published_as_text(api, scheduled, dep_people):
    services.deployment_update(actor=dep_people["owner"], deployment=scheduled, engagement_notes="x")
    Deployment.objects.filter(pk=scheduled.pk).update(location_name="=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(io.StringIO(api(None).get(f"{API}/published.csv").content.decode())))
    place = rows[0].index("place")
    assert rows[1][place] == "'=HYPERLINK(\"http://x\")"
    assert rows[1][rows[0].index("longitude")] == "-0.1278"  # numbers are left alone


# --- Schema ----------------------------------------------------------------------------------


def test_schema_lists_the_deployment_endpoints(api, dep_people):
    response = api(dep_people["owner"]).get(f"{API}/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/api/v1/deployments/": {"get": "deployment_list", "post": "deployment_create"},
        "/api/v1/deployments/{id}/": {"get": "deployment_retrieve", "patch": "deployment_update"},
        "/api/v1/authorisations/{id}/confirm/": {"post": "authorisation_confirm"},
        "/api/v1/signage/{id}/removed/": {"post": "signage_removed"},
        "/api/v1/edge-nodes/": {"get": "edge_node_list", "post": "edge_node_register"},
        "/api/v1/edge-nodes/{id}/revoke/": {"post": "edge_node_revoke"},
        "/api/v1/published/": {"get": "published_list"},
        "/api/v1/published.csv": {"get": "published_csv"},
        **{f"/api/v1/deployments/{{id}}/{action}/": {"post": f"deployment_{operation}"} for action, operation in (
            ("submit", "submit"), ("withdraw", "withdraw"), ("authorise", "authorise"), ("reject", "reject"),
            ("schedule", "schedule"), ("cancel", "cancel"), ("review", "review"), ("signage", "signage_add"),
            ("leaflets", "leaflet_add"), ("operators", "operator_assign"))},
    }
    for path, operations in expected.items():
        assert path in paths, path
        assert {method: op["operationId"] for method, op in paths[path].items()} == operations, path
    assert "/api/v1/watchlists/" in paths  # one schema for the whole API
    signage = paths["/api/v1/deployments/{id}/signage/"]["post"]
    assert "multipart/form-data" in signage["requestBody"]["content"]
    assert list(paths["/api/v1/published.csv"]["get"]["responses"]["200"]["content"]) == ["text/csv"]
    components = schema["components"]["schemas"]
    assert "status" not in components["DeploymentInput"]["properties"]  # transitions are endpoints
    assert "token" not in components["EdgeNodeOutput"]["properties"]
    assert "token" in components["EdgeNodeRegisterOutput"]["properties"]
    assert "token_hash" not in str(components)


def test_a_second_review_is_refused_as_a_conflict_and_the_first_stands(api, dep_people, elsewhere, frozen, node,
                                                                       window):
    scene = build_scene("ended", dep_people, elsewhere, frozen, node, window)
    owner = api(dep_people["owner"])
    url = f"{API}/deployments/{scene.deployment}/review/"
    assert owner.post(url, {"what_happened": "Quiet afternoon."}, format="json").status_code == 200
    second = owner.post(url, {"what_happened": "Written again."}, format="json")
    assert second.status_code == 409, second.content
    body = second.json()
    assert set(body) == {"detail", "code", "fields"} and body["code"] == "already_reviewed"
    assert "already been reviewed" in body["detail"]
    deployment = Deployment.objects.get(pk=scene.deployment)
    assert deployment.status == S.REVIEWED and deployment.review.what_happened == "Quiet afternoon."
    assert AuditEvent.objects.filter(deployment_id=scene.deployment, event="deployment.review").count() == 1


HUGE = "2343405516123306917103665152"  # beyond PostgreSQL's bigint


@pytest.mark.parametrize("path, person", [("/deployments/", "owner"), ("/edge-nodes/", "admin"),
                                          ("/published/", None)])
def test_list_paging_out_of_range_is_clamped_or_refused_never_a_server_error(api, dep_people, scheduled, path,
                                                                             person):
    client = api(dep_people[person] if person else None)
    url = API + path
    clamped = client.get(url, {"limit": HUGE})
    assert clamped.status_code == 200, clamped.content[:300]
    assert client.get(url, {"offset": HUGE}).status_code == 200
    if path == "/published/":
        return  # the published record is one list, not paged: the parameters are not read
    assert client.get(url, {"offset": HUGE}).json()["results"] == []
    for query in ({"offset": "-1"}, {"offset": "NaN"}, {"limit": "-5"}, {"limit": "0"}, {"limit": "NaN"}):
        refused = client.get(url, query)
        assert refused.status_code == 400, (query, refused.content[:300])
        assert refused.json()["code"] == "invalid" and list(query) == list(refused.json()["fields"])
