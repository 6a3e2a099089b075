"""How the passer-by of a false alert appeared, as the operator perceived it: fixed choices, optional, recorded only
on a false alert (with the decision or afterwards, each once), audited with their codes, refused otherwise."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from matching import services
from matching.choices import PerceivedAgeBand, PerceivedEthnicity, PerceivedGender

from .test_console import JSON, _justify, make_alert, operator_client  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
PERCEIVED = {"perceived_age_band": "25_34", "perceived_gender": "female", "perceived_ethnicity": "black"}
FIELDS = tuple(PERCEIVED)


def _perceived_of(alert) -> dict:
    alert.refresh_from_db()
    return {name: getattr(alert, name) for name in FIELDS}


def _adjudicate(client, alert, data, **extra):
    return client.post(f"/alerts/{alert.pk}/adjudicate/", data, **extra)


def test_a_false_alert_with_how_the_passer_by_appeared_stores_and_audits_the_codes(live, make_alert,
                                                                                   operator_client):
    alert = make_alert()
    _justify(operator_client, live)
    answer = _adjudicate(operator_client, alert, {"decision": "false_alert", **PERCEIVED}, **JSON)
    assert answer.status_code == 200, answer.content
    state = answer.json()["alert"]
    assert {name: state[name] for name in FIELDS} == PERCEIVED
    assert state["perceived_display"] == "25 to 34; Female; Black, Black British, Caribbean or African"
    assert _perceived_of(alert) == PERCEIVED and alert.decision == "false_alert"
    event = AuditEvent.objects.get(event="alert.adjudicate", target_id=str(alert.pk))
    assert event.changes == {"decision": [None, "false_alert"], "score": 0.71,
                             **{name: [None, code] for name, code in PERCEIVED.items()}}
    # The card's later state (the feed) carries them too.
    feed = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json", {"have": alert.pk}).json()
    assert {name: feed["states"][0][name] for name in FIELDS} == PERCEIVED


def test_each_is_optional_and_a_plain_form_post_without_script_records_them(live, make_alert, operator_client):
    alert, other = make_alert(0), make_alert(1)
    _justify(operator_client, live)
    response = _adjudicate(operator_client, alert, {"decision": "false_alert", "perceived_age_band": "65_plus",
                                                    "perceived_gender": "", "perceived_ethnicity": ""})
    assert response.status_code == 302 and response["Location"].endswith(f"#alert-{alert.pk}")
    assert _perceived_of(alert) == {"perceived_age_band": "65_plus", "perceived_gender": "",
                                    "perceived_ethnicity": ""}
    # None given: a false alert as before, and the audit row says nothing of them.
    assert _adjudicate(operator_client, other, {"decision": "false_alert"}, **JSON).status_code == 200
    assert _perceived_of(other) == dict.fromkeys(FIELDS, "")
    assert AuditEvent.objects.get(event="alert.adjudicate", target_id=str(other.pk)).changes == {
        "decision": [None, "false_alert"], "score": 0.71}


@pytest.mark.parametrize("name, value, message", [
    ("perceived_age_band", "30", "Choose the age band from the list, or leave it not recorded."),
    ("perceived_gender", "Female", "Choose the gender from the list, or leave it not recorded."),
    ("perceived_ethnicity", "White British, tall, beard", "Choose the ethnicity from the list"),
    ("perceived_ethnicity", "<script>alert(1)</script>", "Choose the ethnicity from the list"),
])
def test_anything_but_a_listed_code_is_refused_with_a_message_and_nothing_is_stored(live, make_alert,
                                                                                    operator_client, name, value,
                                                                                    message):
    alert = make_alert()
    _justify(operator_client, live)
    answer = _adjudicate(operator_client, alert, {"decision": "false_alert", **PERCEIVED, name: value}, **JSON)
    assert answer.status_code == 400
    body = answer.json()
    assert message in body["detail"] and list(body["fields"]) == [name] and body["code"] == "invalid"
    assert value not in body["detail"]  # the message names the field, it does not echo the input
    alert.refresh_from_db()
    assert alert.decision == "" and _perceived_of(alert) == dict.fromkeys(FIELDS, "")
    assert not AuditEvent.objects.filter(event="alert.adjudicate").exists()
    # Without script: back to the console with the same message, and nothing stored either.
    response = _adjudicate(operator_client, alert, {"decision": "false_alert", name: value})
    assert response.status_code == 302
    assert any(message in str(m) for m in get_messages(response.wsgi_request))
    alert.refresh_from_db()
    assert alert.decision == ""


def test_the_service_refuses_unknown_attributes_and_codes_for_any_caller(live, make_alert, dep_people):
    alert = make_alert()
    for perceived in ({"perceived_height": "tall"}, {"perceived_gender": "unknown"}, {"perceived_age_band": 30}):
        with pytest.raises(ValidationError) as exc:
            services.alert_adjudicate(actor=dep_people["operator"], alert=alert, decision="false_alert",
                                      perceived=perceived)
        assert set(exc.value.message_dict) == set(perceived)
    alert.refresh_from_db()
    assert alert.decision == "" and _perceived_of(alert) == dict.fromkeys(FIELDS, "")


@pytest.mark.parametrize("decision", ["confirmed", "undetermined"])
def test_only_a_false_alert_can_carry_them(live, make_alert, operator_client, decision):
    alert = make_alert()
    _justify(operator_client, live)
    answer = _adjudicate(operator_client, alert, {"decision": decision, "perceived_gender": "male"}, **JSON)
    assert answer.status_code == 400 and "recorded only with a false alert" in answer.json()["detail"]
    alert.refresh_from_db()
    assert alert.decision == "" and alert.perceived_gender == ""
    # Decided without them, they cannot be added afterwards either.
    assert _adjudicate(operator_client, alert, {"decision": decision}, **JSON).status_code == 200
    later = operator_client.post(f"/alerts/{alert.pk}/perceived/", {"perceived_gender": "male"}, **JSON)
    assert later.status_code == 400 and "only on an alert decided as a false alert" in later.json()["detail"]
    assert _perceived_of(alert) == dict.fromkeys(FIELDS, "")
    assert not AuditEvent.objects.filter(event="alert.perception").exists()


def test_they_can_be_added_afterwards_on_a_decided_false_alert_each_once(live, make_alert, operator_client,
                                                                         client, make_user):
    alert = make_alert()
    _justify(operator_client, live)
    assert _adjudicate(operator_client, alert, {"decision": "false_alert", "perceived_age_band": "18_24"},
                       **JSON).status_code == 200
    url = f"/alerts/{alert.pk}/perceived/"
    empty = operator_client.post(url, {"perceived_age_band": "", "perceived_gender": ""}, **JSON)
    assert empty.status_code == 400 and "Choose at least one" in empty.json()["detail"]
    bad = operator_client.post(url, {"perceived_gender": "woman"}, **JSON)
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["perceived_gender"]
    added = operator_client.post(url, {"perceived_gender": "male", "perceived_ethnicity": "asian"}, **JSON)
    assert added.status_code == 200
    assert added.json()["alert"]["perceived_display"] == "18 to 24; Male; Asian or Asian British"
    assert _perceived_of(alert) == {"perceived_age_band": "18_24", "perceived_gender": "male",
                                    "perceived_ethnicity": "asian"}
    event = AuditEvent.objects.get(event="alert.perception", target_id=str(alert.pk))
    assert event.changes == {"perceived_gender": [None, "male"], "perceived_ethnicity": [None, "asian"]}
    assert event.actor.username == "operator" and event.subject_ref == alert.entry.subject_ref
    # Recorded once: not changed afterwards.
    again = operator_client.post(url, {"perceived_age_band": "25_34"}, **JSON)
    assert again.status_code == 400 and "already recorded (18 to 24)" in again.json()["detail"]
    assert _perceived_of(alert)["perceived_age_band"] == "18_24"
    assert AuditEvent.objects.filter(event="alert.perception").count() == 1
    # Another deployment's operator: not found, as for an alert that does not exist.
    client.force_login(make_user("other_operator", Role.OPERATOR))
    assert client.post(url, {"perceived_gender": "female"}).status_code == 404


def test_the_console_offers_them_as_labelled_fixed_choices(live, operator_client):
    _justify(operator_client, live)
    html = operator_client.get(f"/alerts/deployments/{live.pk}/").content.decode()
    assert "How the passer-by appeared to you (optional)" in html and "Add how the passer-by appeared" in html
    for name, choices in (("perceived_age_band", PerceivedAgeBand), ("perceived_gender", PerceivedGender),
                          ("perceived_ethnicity", PerceivedEthnicity)):
        selects = re.findall(rf'<select class="govuk-select" name="{name}" data-id="[a-z-]+{name}">(.*?)</select>',
                             html, re.S)
        assert len(selects) == 2, name  # with the decision, and afterwards
        for select in selects:
            assert re.findall(r'<option value="([^"]*)">', select) == ["", *choices.values]
        assert len(re.findall(rf'data-for="[a-z-]+{name}"', html)) == 2  # each select has its label
    # In a fieldset with a legend, and never a free-text field.
    assert html.count('<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">How the passer-by') == 2
    assert not re.search(r'<(input|textarea)[^>]*name="perceived_', html)
