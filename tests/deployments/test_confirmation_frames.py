"""k, the frames to confirm a match, end to end: the form, the services, the API, the pages, the authorisation that
binds it; and the authorising officer's estimate per passer-by that k qualifies."""

import json
import math
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from deployments import selectors, services
from deployments.choices import DeploymentStatus
from deployments.models import Deployment
from lfr_governance.audit.models import AuditEvent

from . import calibration_fixture
from .conftest import APPLICATION
from .test_api import application_json
from .test_views import application_post, tomorrow_at

pytestmark = pytest.mark.django_db
S = DeploymentStatus
API = "/api/v1"
K_TEXT = ("Frames to confirm a match", "a passer-by alerts only when the same watchlisted person scores at or above "
                                       "the threshold in at least")



def _per_look(threshold: float, size: int = 3, condition: str = "colour") -> float:
    """One look's rate for a list of `size` at `threshold`, from the synthetic calibration's closed form."""
    return calibration_fixture._interpolated(
        lambda n: calibration_fixture.gallery_chance(calibration_fixture.fmr(threshold, condition), n), size)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- The services ------------------------------------------------------------------------------


def test_the_default_is_two_and_a_value_in_range_is_kept(application, dep_people, frozen, node, window):
    assert application.confirmation_frames == 2  # fixtures, demos and drafts that never name it
    # Thresholds above the proposals for k = 1 too (0.45 and 0.50 for these 3 entries), so only k changes below.
    three = services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                       starts_at=window[0], ends_at=window[1], confirmation_frames=3, threshold=0.5,
                                       threshold_greyscale=0.55, **APPLICATION)
    assert Deployment.objects.get(pk=three.pk).confirmation_frames == 3
    services.deployment_update(actor=dep_people["owner"], deployment=three, confirmation_frames=1)
    assert Deployment.objects.get(pk=three.pk).confirmation_frames == 1
    update = AuditEvent.objects.filter(event="deployment.update", deployment_id=three.pk).get()
    assert update.changes["fields"] == ["confirmation_frames"]


@pytest.mark.parametrize("value, says", [
    (float("nan"), "whole number from 1 to 10"),
    (float("inf"), "whole number from 1 to 10"),
    (2.5, "whole number from 1 to 10"),
    (2.0, "whole number from 1 to 10"),  # a float that reads as 2 is still not a whole number given as one
    ("2", "whole number from 1 to 10"),
    ("two", "whole number from 1 to 10"),
    (True, "whole number from 1 to 10"),
    (None, "whole number from 1 to 10"),
    (0, "must be from 1 to 10"),
    (-1, "must be from 1 to 10"),
    (11, "must be from 1 to 10"),
    (10**30, "must be from 1 to 10"),
])
def test_the_service_refuses_anything_but_a_whole_number_from_1_to_10(application, dep_people, value, says):
    with pytest.raises(ValidationError) as exc:
        services.deployment_update(actor=dep_people["owner"], deployment=application, confirmation_frames=value)
    message = exc.value.message_dict["confirmation_frames"][0]
    assert says in message and ("e.g. 2" in message or "such as 2" in message)  # what to do, not only what is wrong
    assert Deployment.objects.get(pk=application.pk).confirmation_frames == 2


def test_the_service_refuses_a_bad_value_on_creation_too(dep_people, frozen, node, window):
    with pytest.raises(ValidationError) as exc:
        services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                   starts_at=window[0], ends_at=window[1], confirmation_frames=0, **APPLICATION)
    assert "confirmation_frames" in exc.value.message_dict
    assert not Deployment.objects.exists()


def test_the_authorisation_binds_k_and_keeps_the_estimate_made_with_it(authorised):
    authorisation = selectors.current_authorisation(authorised)
    assert authorisation.bound["confirmation_frames"] == 2 and authorisation.bound["threshold"] == authorised.threshold
    estimate = authorisation.estimate
    assert estimate["model"] == "threshold_from_target" and estimate["confirmation_frames"] == 2
    assert estimate["bound"] is True
    for condition, record in estimate["conditions"].items():
        chosen = record["chosen"]
        assert chosen["confirmation_frames"] == 2 and chosen["per_passer_by"] == chosen["per_look"]  # k >= 2
        assert record["expected"] == pytest.approx(8000 * chosen["per_passer_by"])
        assert record["proposal"]["threshold"] == calibration_fixture.expected_proposal(3, condition=condition)
    assert estimate["expected"] == estimate["conditions"]["colour"]["expected"]


@pytest.mark.parametrize("status", ["authorised", "scheduled"])
def test_changing_k_after_authorisation_returns_to_draft_as_the_threshold_does(scheduled, dep_people, status):
    deployment = scheduled
    if status == "authorised":
        Deployment.objects.filter(pk=scheduled.pk).update(status=S.AUTHORISED)
        deployment = Deployment.objects.get(pk=scheduled.pk)
    # The same k written again is no change: the authorisation stands.
    services.deployment_update(actor=dep_people["owner"], deployment=deployment, confirmation_frames=2)
    deployment.refresh_from_db()
    assert deployment.status == status and selectors.current_authorisation(deployment)
    services.deployment_update(actor=dep_people["owner"], deployment=deployment, confirmation_frames=3)
    deployment.refresh_from_db()
    assert deployment.status == S.DRAFT and deployment.confirmation_frames == 3
    assert selectors.current_authorisation(deployment) is None
    assert deployment.authorisations.get().superseded_at is not None
    back = AuditEvent.objects.get(event="deployment.return_to_draft", deployment_id=deployment.pk)
    assert back.changes["reason"] == "what the authorisation binds was changed"


# --- The form and the pages ------------------------------------------------------------------------


def test_the_form_offers_k_at_two_and_saves_it(client, dep_people, frozen, node):
    client.force_login(dep_people["owner"])
    url = reverse("deployments:create")
    page = client.get(url).content.decode()
    assert "Frames to confirm a match" in page and 'name="confirmation_frames"' in page
    assert 'id="id_confirmation_frames" name="confirmation_frames" type="text" value="2"' in page
    response = client.post(url, application_post(frozen, [node], tomorrow_at(10), tomorrow_at(14),
                                                 confirmation_frames="3"))
    assert response.status_code == 302
    assert Deployment.objects.get().confirmation_frames == 3


@pytest.mark.parametrize("typed, says", [
    ("", "Enter the frames to confirm a match"),
    ("two", "as a whole number from 1 to 10"),
    ("2.5", "as a whole number from 1 to 10"),
    ("nan", "as a whole number from 1 to 10"),
    ("0", "must be at least 1"),
    ("-3", "must be at least 1"),
    ("11", "must be 10 or fewer"),
    ("99999999999999999999999", "must be 10 or fewer"),
])
def test_the_form_says_what_to_do_with_a_bad_k(client, dep_people, frozen, node, typed, says):
    client.force_login(dep_people["owner"])
    response = client.post(reverse("deployments:create"),
                           application_post(frozen, [node], tomorrow_at(10), tomorrow_at(14),
                                            confirmation_frames=typed))
    body = response.content.decode()
    assert response.status_code == 400 and says in body and 'href="#id_confirmation_frames"' in body
    assert not Deployment.objects.exists()


def test_changing_k_on_the_edit_page_returns_an_authorised_deployment_to_draft(client, authorised, dep_people):
    client.force_login(dep_people["owner"])
    url = reverse("deployments:edit", args=[authorised.pk])
    page = client.get(url).content.decode()
    assert "threshold or frames to confirm a match returns it to draft" in page
    same = application_post(authorised.watchlist_version, list(authorised.edge_nodes.all()), authorised.starts_at,
                            authorised.ends_at, threshold=str(authorised.threshold))
    assert client.post(url, same).status_code == 302
    authorised.refresh_from_db()
    assert authorised.status == S.AUTHORISED
    assert client.post(url, {**same, "confirmation_frames": "4"}).status_code == 302
    authorised.refresh_from_db()
    assert authorised.status == S.DRAFT and authorised.confirmation_frames == 4


def test_the_detail_and_decision_pages_state_k(client, application, dep_people):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    sentence = ("2 — a passer-by alerts only when the same watchlisted person scores at or above the threshold in at "
                "least 2 frames")
    client.force_login(dep_people["owner"])
    detail = client.get(reverse("deployments:detail", args=[application.pk])).content.decode()
    assert K_TEXT[0] in detail and sentence in detail
    client.force_login(dep_people["ao"])
    decision = client.get(reverse("deployments:decision", args=[application.pk])).content.decode()
    assert f"Frames to confirm a match: {sentence}" in decision
    assert "watchlist, threshold (colour or greyscale) or frames to confirm a match needs a new one" in decision


# --- The API -------------------------------------------------------------------------------------


def test_the_api_takes_k_defaults_it_and_shows_it(dep_people, frozen, node, window):
    owner = _api(dep_people["owner"])
    response = owner.post(f"{API}/deployments/", application_json(frozen.pk, [node.pk], *window), format="json")
    assert response.status_code == 201 and response.json()["confirmation_frames"] == 2
    response = owner.post(f"{API}/deployments/", application_json(frozen.pk, [node.pk], *window,
                                                                  confirmation_frames=5), format="json")
    assert response.status_code == 201 and response.json()["confirmation_frames"] == 5
    assert response.json()["proposal"]["confirmation_frames"] == 5
    url = f"{API}/deployments/{response.json()['id']}/"
    # k = 1 raises the proposals (every look is a chance): the thresholds proposed for k = 5 are now below them.
    response = owner.patch(url, {"confirmation_frames": 1}, format="json")
    assert response.status_code == 400 and "threshold_justification" in response.json()["fields"]
    response = owner.patch(url, {"confirmation_frames": 1, "threshold_justification": "A trial agreed with the DPO."},
                           format="json")
    assert response.status_code == 200 and response.json()["confirmation_frames"] == 1
    assert response.json()["proposal"]["bound"] is False  # k = 1: an estimate, not a bound
    colour = response.json()["proposal"]["conditions"][0]
    assert colour["below_proposal"] is True
    assert colour["proposal"]["threshold"] == calibration_fixture.expected_proposal(3, k=1)


@pytest.mark.parametrize("value", ["2", 2.5, 2.0, True, None, 0, -2, 11, 10**30, [2], {"k": 2}])
def test_the_api_refuses_a_bad_k_naming_the_field(dep_people, frozen, node, window, value):
    response = _api(dep_people["owner"]).post(
        f"{API}/deployments/", application_json(frozen.pk, [node.pk], *window, confirmation_frames=value),
        format="json")
    assert response.status_code == 400, response.content
    message = response.json()["fields"]["confirmation_frames"][0]
    assert "confirmation_frames" in message or "frames to confirm" in message
    assert not Deployment.objects.exists()


def test_the_api_refuses_nan_and_infinity_in_the_body(dep_people, frozen, node, window):
    body = json.dumps(application_json(frozen.pk, [node.pk], *window)).replace('"expected_footfall"',
                                                                             '"confirmation_frames": NaN, '
                                                                             '"expected_footfall"')
    response = _api(dep_people["owner"]).post(f"{API}/deployments/", body, content_type="application/json")
    assert response.status_code == 400 and not Deployment.objects.exists()


def test_the_api_patch_of_k_voids_the_authorisation(scheduled, dep_people):
    response = _api(dep_people["owner"]).patch(f"{API}/deployments/{scheduled.pk}/", {"confirmation_frames": 3},
                                               format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "draft" and response.json()["authorisation"] is None
    decision = response.json()["decisions"][0]
    assert decision["bound"]["confirmation_frames"] == 2 and decision["superseded_at"]


def test_the_schema_documents_k_and_the_estimate_per_passer_by(dep_people):
    schema = _api(dep_people["owner"]).get(f"{API}/schema/", {"format": "json"}).json()["components"]["schemas"]
    k = schema["DeploymentInput"]["properties"]["confirmation_frames"]
    assert k["type"] == "integer" and k["minimum"] == 1 and k["maximum"] == 10
    assert "confirmation_frames" not in schema["DeploymentInput"].get("required", [])
    assert "confirmation_frames" in schema["DeploymentDetailOutput"]["properties"]
    proposal = schema["ProposalOutput"]["properties"]
    for name in ("target", "confirmation_frames", "bound", "conditions", "error"):
        assert name in proposal, name
    for name in ("proposal", "chosen", "expected", "expected_upper_95", "below_proposal", "measurable"):
        assert name in schema["ConditionOutput"]["properties"], name
    for name in ("threshold", "per_passer_by", "per_passer_by_upper_95", "tpir", "measurable", "source"):
        assert name in schema["OperatingOutput"]["properties"], name
    assert "proposal" in schema["DeploymentDetailOutput"]["properties"]
    assert "threshold_greyscale" in schema["DeploymentInput"]["properties"]


# --- The estimate per passer-by ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_estimate_is_footfall_times_the_rate_per_passer_by(application, dep_people, k):
    """k >= 2: one look's rate is the bound per passer-by; k = 1: 1 - (1 - p)^L for L looks (policy: 3)."""
    application = services.deployment_update(
        actor=dep_people["owner"], deployment=application, threshold=0.45, threshold_greyscale=0.55,
        confirmation_frames=k, threshold_justification="Agreed with the DPO for a trial." if k == 1 else "")
    figures = selectors.deployment_thresholds(application)
    assert figures.watchlist_size == 3 and figures.footfall == 8000 and figures.confirmation_frames == k
    for condition, threshold in (("colour", 0.45), ("greyscale", 0.55)):
        c = figures.get(condition)
        assert c.threshold == threshold and c.chosen.threshold == threshold
        p = _per_look(threshold, condition=condition)
        assert c.chosen.per_look == pytest.approx(p, rel=1e-9)
        expected = p if k >= 2 else 1 - (1 - p) ** 3
        assert c.chosen.per_passer_by == pytest.approx(expected, rel=1e-9)
        assert c.expected == pytest.approx(8000 * expected, rel=1e-9)
        assert c.expected_upper_95 == pytest.approx(8000 * c.chosen.per_passer_by_upper_95)
        assert c.expected_upper_95 >= c.expected > 0 and math.isfinite(c.expected_upper_95)
        assert c.chosen.is_bound is (k >= 2) and c.qualifier == ("At most" if k >= 2 else "About")


def test_the_officer_reads_at_most_with_k_of_two_and_about_with_one(client, application, dep_people):
    services.deployment_update(actor=dep_people["owner"], deployment=application, threshold=0.5)
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    client.force_login(dep_people["ao"])
    url = reverse("deployments:decision", args=[application.pk])
    page = client.get(url).content.decode()
    expected = 8000 * _per_look(0.5)
    assert f'data-testid="footfall-colour">At most {expected:.2f} false alerts' in page
    one_in = round(1 / _per_look(0.5))
    assert f'data-testid="per-passer-by-colour">At most 1 in {one_in:,} passers-by' in page
    assert 'data-testid="figures-bound"' in page and "the most to expect per passer-by" in page
    assert "manage.py rehearse" in page
    Deployment.objects.filter(pk=application.pk).update(confirmation_frames=1)
    page = client.get(url).content.decode()
    expected = 8000 * (1 - (1 - _per_look(0.5)) ** 3)
    assert f'data-testid="footfall-colour">About {expected:.2f} false alerts' in page
    assert 'data-testid="figures-about"' in page and "an estimate rather than a bound" in page


def test_the_authorisation_history_shows_the_estimate_seen(client, authorised, dep_people):
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:detail", args=[authorised.pk])).content.decode()
    estimate = selectors.current_authorisation(authorised).estimate
    colour, grey = estimate["conditions"]["colour"], estimate["conditions"]["greyscale"]
    assert "figures seen, for a target of 0.001 false alerts per passer-by" in page
    assert (f"colour at {colour['threshold']:.2f} (proposed {colour['proposal']['threshold']:.2f}), at most "
            f"{colour['expected']:.2f} false alerts expected (95% upper bound "
            f"{colour['expected_upper_95']:.2f})") in page
    assert f"greyscale at {grey['threshold']:.2f} (proposed {grey['proposal']['threshold']:.2f}), at most" in page
    assert (f"Thresholds authorised: colour {authorised.threshold:.2f}, greyscale "
            f"{authorised.threshold_greyscale:.2f}") in page
    assert "Frames to confirm a match authorised: 2" in page


def test_an_authorisation_from_before_k_still_shows(client, authorised, dep_people):
    """Decisions recorded before the estimate per passer-by keep their old estimate and binding, and still show."""
    authorisation = selectors.current_authorisation(authorised)
    bound = {k: v for k, v in authorisation.bound.items() if k != "confirmation_frames"}
    type(authorisation).objects.filter(pk=authorisation.pk).update(
        bound=bound, estimate={"expected": 12.5, "expected_upper_95": 40.0, "fmr": 0.0005, "threshold": 0.36,
                               "footfall": 8000, "watchlist_size": 3})
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:detail", args=[authorised.pk])).content.decode()
    assert "estimate seen: 12.50 false alerts expected (95% upper bound 40.00)" in page
    # Its deployment is still the one authorised: an unchanged application is no change.
    services.deployment_update(actor=dep_people["owner"], deployment=authorised, engagement_notes="Briefed.")
    authorised.refresh_from_db()
    assert authorised.status == S.AUTHORISED


def test_a_window_change_and_k_together_are_one_return_to_draft(scheduled, dep_people):
    services.deployment_update(actor=dep_people["owner"], deployment=scheduled, confirmation_frames=3,
                               ends_at=scheduled.ends_at + timedelta(minutes=30))
    assert AuditEvent.objects.filter(event="deployment.return_to_draft", deployment_id=scheduled.pk).count() == 1
