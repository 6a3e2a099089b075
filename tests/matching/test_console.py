"""The operator console: who may see which alerts, the reason asked once per session, every view and decision
audited, the order of decisions, and the alert figures of the published record."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from deployments import services as deployment_services
from deployments.selectors import published_record
from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from matching.models import Alert, Sighting
from matching.selectors import deployment_alert_figures
from watchlists.models import ReferenceImage

from .conftest import jpeg_of

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}
REASON = "Operator on duty for this deployment"


@pytest.fixture
def make_alert(live, node, face_bytes):
    probe = jpeg_of(face_bytes("img2.jpg"), size=(120, 120))
    images = list(ReferenceImage.objects.filter(entry__version=live.watchlist_version).select_related("entry"))

    def _make(index: int = 0, score: float = 0.71, deployment=None, sightings: int = 1) -> Alert:
        """One alert per passer-by (their track), with `sightings` faces of them, the first at the alert's score."""
        image = images[index]
        now = timezone.now()
        frame_id = f"frame-{index}-{uuid.uuid4().hex[:8]}"
        alert = Alert.objects.create(
            deployment=deployment or live, edge_node=node, camera="north mast", frame_id=frame_id,
            track_ref=f"{frame_id}#0", entry=image.entry, reference_image=image,
            probe_image=ContentFile(probe, name="probe.jpg"), score=score, threshold=live.threshold,
            pack_id="yunet-sface", captured_at=now, received_at=now, alerted_at=now,
            last_seen_at=now + timedelta(seconds=sightings - 1), sighting_count=sightings,
        )
        Sighting.objects.bulk_create([
            Sighting(alert=alert, frame_id=f"{frame_id}-{n}", track_ref=alert.track_ref,
                     captured_at=now + timedelta(seconds=n), score=score if n % 2 == 0 else None, quality=0.5)
            for n in range(sightings)])
        return alert

    return _make


@pytest.fixture
def operator_client(client, dep_people):
    client.force_login(dep_people["operator"])
    return client


def _justify(client, deployment):
    response = client.post(f"/alerts/deployments/{deployment.pk}/justify/", {"justification": REASON})
    assert response.status_code == 302


def test_only_the_assigned_operators_see_a_deployments_alerts(live, make_alert, client, dep_people, make_user):
    alert = make_alert()
    urls = [f"/alerts/deployments/{live.pk}/", f"/alerts/deployments/{live.pk}/feed.json",
            f"/alerts/deployments/{live.pk}/justify/", f"/alerts/{alert.pk}/probe/", f"/alerts/{alert.pk}/reference/"]
    # Not signed in: sent to sign in.
    for url in urls:
        assert client.get(url).status_code == 302
    # An operator not assigned to it: the same "not found" as for a deployment that does not exist.
    other = make_user("other_operator", Role.OPERATOR)
    client.force_login(other)
    assert client.get("/alerts/").status_code == 200
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/alerts/{alert.pk}/adjudicate/", {"decision": "confirmed"}).status_code == 404
    assert client.get(f"/alerts/deployments/{live.pk + 1000}/").status_code == 404
    # People in other roles, the deployment's own applicant and authorising officer included, have no console.
    for person in ("owner", "ao", "admin", "reviewer"):
        client.force_login(dep_people[person])
        assert client.get("/alerts/").status_code == 403, person
        assert client.get(f"/alerts/deployments/{live.pk}/feed.json").status_code == 404, person
    # The assigned operator.
    client.force_login(dep_people["operator"])
    page = client.get("/alerts/")
    assert page.status_code == 200 and live.title in page.content.decode()
    assert b"Alert console" in page.content  # the navigation entry
    _justify(client, live)
    assert client.get(f"/alerts/deployments/{live.pk}/").status_code == 200


def test_a_reason_is_asked_once_per_session_before_any_alert_is_shown(live, make_alert, operator_client):
    alert = make_alert()
    console = f"/alerts/deployments/{live.pk}/"
    response = operator_client.get(console)
    assert response.status_code == 302 and "/justify/" in response["Location"]
    feed = operator_client.get(f"{console}feed.json")
    assert feed.status_code == 403 and feed.json()["code"] == "justification_required"
    assert operator_client.get(f"/alerts/{alert.pk}/probe/").status_code == 403
    short = operator_client.post(f"{console}justify/", {"justification": "because"})
    assert short.status_code == 400 and "at least 10 characters" in short.content.decode()
    assert not AuditEvent.objects.filter(action="consultation").exists()
    _justify(operator_client, live)
    page = operator_client.get(console)
    assert page.status_code == 200
    html = page.content.decode()
    # The sound and the live feed are the console's static script (no inline script under the CSP).
    assert 'data-testid="awaiting-count">1<' in html and 'src="/static/js/alert-console.js"' in html
    assert "AudioContext" in (Path(settings.BASE_DIR) / "static" / "js" / "alert-console.js").read_text()


def test_each_alert_shown_and_each_image_opened_is_audited_with_the_reason(live, make_alert, operator_client):
    first, second = make_alert(0), make_alert(1)
    _justify(operator_client, live)
    feed = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json", {"after": 0}).json()
    assert [a["id"] for a in feed["alerts"]] == [first.pk, second.pk]
    shown = feed["alerts"][0]
    assert shown["subject_ref"] == first.entry.subject_ref and shown["camera"] == "north mast"
    assert shown["category"] and shown["score"] == 0.71 and shown["decision"] == ""
    assert shown["captured_display"].endswith(timezone.localtime(first.captured_at).strftime("%Y")) and (
        "GMT" in shown["captured_display"] or "BST" in shown["captured_display"])
    views = AuditEvent.objects.filter(event="alert.view")
    assert sorted(views.values_list("target_id", flat=True)) == sorted([str(first.pk), str(second.pk)])
    assert {(v.justification, v.actor.username, v.deployment_id) for v in views} == {(REASON, "operator", live.pk)}
    # Polling again shows nothing new and audits nothing new.
    again = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json",
                                {"after": 0, "have": f"{first.pk},{second.pk}"}).json()
    assert again["alerts"] == [] and len(again["states"]) == 2 and again["awaiting_decision"] == 2
    assert views.count() == 2
    probe = operator_client.get(f"/alerts/{first.pk}/probe/")
    assert probe.status_code == 200 and probe["Cache-Control"] == "no-store, private"
    reference = operator_client.get(f"/alerts/{first.pk}/reference/")
    assert reference.status_code == 200 and reference["Content-Type"] == first.reference_image.content_type
    rows = AuditEvent.objects.filter(event__in=["alert.probe_view", "alert.reference_view"])
    assert sorted(rows.values_list("event", flat=True)) == ["alert.probe_view", "alert.reference_view"]
    assert {r.justification for r in rows} == {REASON}


def test_decisions_follow_their_order_and_are_audited(live, make_alert, operator_client, dep_people):
    alert = make_alert()
    _justify(operator_client, live)
    url = f"/alerts/{alert.pk}/"

    def post(action, data, **extra):
        return operator_client.post(f"{url}{action}/", data, **{**JSON, **extra})

    assert post("adjudicate", {"decision": "maybe"}).status_code == 400
    body = post("outcome", {"outcome": "arrested"}).json()
    assert "only after confirming" in body["detail"]
    answer = post("adjudicate", {"decision": "confirmed"})
    assert answer.status_code == 200
    assert answer.json()["alert"]["decision"] == "confirmed" and answer.json()["awaiting_decision"] == 0
    assert "already decided" in post("adjudicate", {"decision": "false_alert"}).json()["detail"]
    assert "Describe the outcome" in post("outcome", {"outcome": "other", "outcome_text": " "}).json()["detail"]
    done = post("outcome", {"outcome": "other", "outcome_text": "Detained under the Mental Health Act"})
    assert done.status_code == 200 and done.json()["alert"]["outcome_label"] == "Other"
    assert "already recorded" in post("outcome", {"outcome": "arrested"}).json()["detail"]
    alert.refresh_from_db()
    assert (alert.decision, alert.decided_by, alert.outcome, alert.outcome_by) == (
        "confirmed", dep_people["operator"], "other", dep_people["operator"])
    rows = AuditEvent.objects.filter(event__in=["alert.adjudicate", "alert.outcome"]).order_by("id")
    assert [(r.event, r.changes) for r in rows] == [
        ("alert.adjudicate", {"decision": [None, "confirmed"], "score": 0.71}),
        ("alert.outcome", {"outcome": [None, "other"], "text": "Detained under the Mental Health Act"}),
    ]
    assert {r.subject_ref for r in rows} == {alert.entry.subject_ref}


def test_a_decision_posted_without_javascript_returns_to_the_console(live, make_alert, operator_client):
    alert = make_alert()
    _justify(operator_client, live)
    response = operator_client.post(f"/alerts/{alert.pk}/adjudicate/", {"decision": "false_alert"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/alerts/deployments/{live.pk}/#alert-{alert.pk}")
    alert.refresh_from_db()
    assert alert.decision == "false_alert"


def test_the_watchlist_image_is_gone_once_the_version_is_destroyed(live, make_alert, operator_client, dep_people):
    from deployments.services import deployment_end
    from watchlists.services import watchlist_version_destroy

    alert = make_alert()
    deployment_end(deployment=live, actor=dep_people["owner"])  # a live deployment's version cannot be destroyed
    watchlist_version_destroy(version=live.watchlist_version, reason="deployment ended", actor_label="retention job")
    _justify(operator_client, live)
    assert operator_client.get(f"/alerts/{alert.pk}/reference/").status_code == 410
    feed = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json").json()
    assert feed["alerts"][0]["reference_url"] is None


def test_the_published_record_counts_true_and_false_alerts_engagements_and_arrests(live, make_alert, dep_people):
    from matching import services

    operator = dep_people["operator"]
    decided = [("confirmed", "arrested"), ("confirmed", "words_of_advice"), ("confirmed", ""), ("false_alert", ""),
               ("undetermined", ""), ("", "")]
    for index, (decision, outcome) in enumerate(decided):
        alert = make_alert(index % 3)
        if decision:
            services.alert_adjudicate(actor=operator, alert=alert, decision=decision)
        if outcome:
            services.alert_outcome_record(actor=operator, alert=alert, outcome=outcome)
    figures = {"alerts": 6, "true_alerts": 3, "false_alerts": 1, "engagements": 2, "arrests": 1}
    got = deployment_alert_figures(live)  # per alert (person); the per-passer-by rates are tested with the pipeline
    assert {key: got[key] for key in figures} == figures
    record = published_record(live)
    assert {key: record[key] for key in figures} == figures


def test_only_an_assigned_operator_may_decide(live, make_alert, dep_people, make_user):
    from django.core.exceptions import PermissionDenied

    from matching import services

    alert = make_alert()
    for person in (dep_people["owner"], dep_people["ao"], make_user("spare_operator", Role.OPERATOR)):
        with pytest.raises(PermissionDenied):
            services.alert_adjudicate(actor=person, alert=alert, decision="confirmed")
    second = make_user("second_operator", Role.OPERATOR)
    deployment_services.operator_assign(actor=dep_people["owner"], deployment=live, operator=second)
    assert services.alert_adjudicate(actor=second, alert=alert, decision="confirmed").decided_by == second


def test_an_alert_committed_late_under_a_lower_id_still_reaches_the_console(live, make_alert, operator_client):
    """Two workers can commit alerts out of id order: the console names what it holds, not only the highest id."""
    early, late = make_alert(0), make_alert(1)
    _justify(operator_client, live)
    feed = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json",
                                {"after": 0, "have": f"{late.pk}"}).json()
    assert [a["id"] for a in feed["alerts"]] == [early.pk]
    assert AuditEvent.objects.filter(event="alert.view").count() == 1


# --- One card per person: sightings, the filter, held alerts, counts awaiting a decision ---------------------


def _feed(client, deployment, **params):
    return client.get(f"/alerts/deployments/{deployment.pk}/feed.json", params).json()


def test_an_alert_is_one_person_with_their_sightings_and_its_card_updates_in_place(live, make_alert,
                                                                                   operator_client):
    alert = make_alert(0, sightings=20)
    _justify(operator_client, live)
    feed = _feed(operator_client, live)
    assert len(feed["alerts"]) == 1 and feed["awaiting_decision"] == 1
    shown = feed["alerts"][0]
    assert shown["sighting_count"] == 20 and shown["sightings_url"] == f"/alerts/{alert.pk}/sightings/"
    assert shown["last_seen_display"] != shown["captured_display"]  # first and last of the 20 faces, 19 s apart
    assert "GMT" in shown["last_seen_display"] or "BST" in shown["last_seen_display"]
    # The person is seen again with a better face: the card's state says so (count, last seen, a new probe URL).
    before = shown["probe_url"]
    alert.refresh_from_db()
    alert.sighting_count, alert.last_seen_at = 21, alert.last_seen_at + timedelta(seconds=5)
    alert.probe_image = ContentFile(b"better", name="probe.jpg")
    alert.score = 0.8
    alert.save()
    state = _feed(operator_client, live, after=0, have=str(alert.pk))["states"][0]
    assert (state["id"], state["sighting_count"], state["score"]) == (alert.pk, 21, 0.8)
    assert state["probe_url"] != before and state["probe_url"].startswith(f"/alerts/{alert.pk}/probe/?v=")
    assert state["last_seen_display"] != shown["last_seen_display"]
    assert AuditEvent.objects.filter(event="alert.view").count() == 1  # a state is no new view


def test_new_alerts_can_wait_behind_the_bar_unseen_and_unaudited(live, make_alert, operator_client):
    first = make_alert(0)
    _justify(operator_client, live)
    assert [a["id"] for a in _feed(operator_client, live)["alerts"]] == [first.pk]
    second = make_alert(1)
    held = _feed(operator_client, live, after=0, have=str(first.pk), hold=1)
    # Only the id: nothing about the person reaches the page until the operator shows it.
    assert held["alerts"] == [] and held["pending"] == [second.pk] and held["awaiting_decision"] == 2
    assert AuditEvent.objects.filter(event="alert.view").count() == 1
    shown = _feed(operator_client, live, after=0, have=str(first.pk))
    assert [a["id"] for a in shown["alerts"]] == [second.pk] and shown["pending"] == []
    assert AuditEvent.objects.filter(event="alert.view", target_id=str(second.pk)).count() == 1


def test_the_console_filters_awaiting_decided_or_all_with_the_state_in_the_url(live, make_alert, operator_client):
    from matching import services

    waiting, decided = make_alert(0), make_alert(1)
    services.alert_adjudicate(actor=live.operators.get(), alert=decided, decision="false_alert")
    _justify(operator_client, live)
    assert [a["id"] for a in _feed(operator_client, live)["alerts"]] == [waiting.pk]  # awaiting by default
    assert [a["id"] for a in _feed(operator_client, live, show="awaiting")["alerts"]] == [waiting.pk]
    assert [a["id"] for a in _feed(operator_client, live, show="decided")["alerts"]] == [decided.pk]
    assert [a["id"] for a in _feed(operator_client, live, show="all")["alerts"]] == [waiting.pk, decided.pk]
    assert _feed(operator_client, live, show="<script>")["show"] == "awaiting"
    for show in ("awaiting", "decided", "all"):
        html = operator_client.get(f"/alerts/deployments/{live.pk}/", {"show": show}).content.decode()
        assert f'id="show-{show}" name="show" type="radio" value="{show}" checked' in html
        assert f'data-show="{show}"' in html
        assert '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Show alerts</legend>' in html
        assert f'<label class="govuk-label govuk-radios__label" for="show-{show}">' in html
    html = operator_client.get(f"/alerts/deployments/{live.pk}/", {"show": "nonsense"}).content.decode()
    assert 'value="awaiting" checked' in html


def test_the_keyboard_shortcuts_are_the_three_decisions_and_said_on_the_page(live, operator_client):
    from matching.choices import Decision

    _justify(operator_client, live)
    html = operator_client.get(f"/alerts/deployments/{live.pk}/").content.decode()
    for value, key in (("confirmed", "C"), ("false_alert", "F"), ("undetermined", "U")):
        assert f'name="decision" value="{value}" aria-keyshortcuts="{key}"' in html
    assert set(Decision.values) == {"confirmed", "false_alert", "undetermined"}
    assert "<strong>Keyboard:</strong> <kbd>C</kbd> confirm match, <kbd>F</kbd> false alert, <kbd>U</kbd> unable " \
           "to determine on the selected alert" in html
    assert 'role="status" aria-live="polite" data-testid="new-alerts"' in html


def test_the_count_awaiting_a_decision_per_deployment_counts_people(live, make_alert, operator_client, dep_people,
                                                                   node):
    from deployments.services import deployment_create
    from matching import services
    from tests.deployments.conftest import APPLICATION

    other = deployment_create(actor=dep_people["owner"], watchlist_version=live.watchlist_version, edge_nodes=[node],
                              starts_at=live.ends_at + timedelta(days=1), ends_at=live.ends_at + timedelta(days=1,
                                                                                                             hours=2),
                              **{**APPLICATION, "title": "Station approach operation"})
    deployment_services.operator_assign(actor=dep_people["owner"], deployment=other, operator=dep_people["operator"])
    make_alert(0, sightings=30)  # one person seen 30 times: one alert awaiting
    decided = make_alert(1)
    services.alert_adjudicate(actor=dep_people["operator"], alert=decided, decision="confirmed")
    make_alert(2, deployment=other)
    make_alert(3, deployment=other)
    page = operator_client.get("/alerts/").content.decode()
    assert f'data-testid="awaiting-{live.pk}">1 awaiting decision<' in page
    assert f'data-testid="awaiting-{other.pk}">2<' in page
    _justify(operator_client, live)
    assert _feed(operator_client, live)["awaiting_decision"] == 1
    assert {d["id"]: d["awaiting"] for d in _feed(operator_client, live)["awaiting_by_deployment"]} == {live.pk: 1}


def test_the_sighting_history_is_checked_and_audited_as_viewing_the_alert(live, make_alert, client, dep_people,
                                                                          make_user):
    alert = make_alert(0, sightings=4)
    url = f"/alerts/{alert.pk}/sightings/"
    assert client.get(url).status_code == 302 and "/login/" in client.get(url)["Location"]
    # An operator of another deployment, and the people of other roles: the same "not found" as a missing alert.
    client.force_login(make_user("other_operator", Role.OPERATOR))
    assert client.get(url).status_code == 404
    assert client.get(f"/alerts/{alert.pk + 1000}/sightings/").status_code == 404
    for person in ("owner", "ao", "admin", "reviewer"):
        client.force_login(dep_people[person])
        assert client.get(url).status_code == 404, person
        assert client.get(url, **JSON).status_code == 404, person
    assert not AuditEvent.objects.filter(event="alert.sightings_view").exists()
    # The assigned operator: the reason first, as for any alert.
    client.force_login(dep_people["operator"])
    first = client.get(url)
    assert first.status_code == 302 and "/justify/" in first["Location"]
    assert client.get(url, **JSON).json()["code"] == "justification_required"
    assert not AuditEvent.objects.filter(event="alert.sightings_view").exists()
    _justify(client, live)
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    assert alert.entry.subject_ref in html and html.count("carried by track") == 2 and "0.710" in html
    assert f"{alert.frame_id}-3" in html and ("GMT" in html or "BST" in html)
    data = client.get(url, **JSON).json()
    assert data["sighting_count"] == 4 and [row["score"] for row in data["sightings"]] == [0.71, None, 0.71, None]
    assert [row["score_display"] for row in data["sightings"]][:2] == ["0.710", "carried by track"]
    assert [row["frame_id"] for row in data["sightings"]] == [f"{alert.frame_id}-{n}" for n in range(4)]
    rows = AuditEvent.objects.filter(event="alert.sightings_view")
    assert rows.count() == 2
    assert {(r.action, r.target_id, r.justification, r.actor.username, r.deployment_id, r.subject_ref)
            for r in rows} == {("consultation", str(alert.pk), REASON, "operator", live.pk, alert.entry.subject_ref)}
    assert {r.changes["sightings_shown"] for r in rows} == {4}
