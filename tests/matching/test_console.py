"""The operator console: who may see which alerts, the reason asked once per session, every view and decision
audited, the order of decisions, and the alert figures of the published record."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from deployments import services as deployment_services
from deployments.selectors import published_record
from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from matching.models import Alert
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

    def _make(index: int = 0, score: float = 0.71) -> Alert:
        image = images[index]
        now = timezone.now()
        return Alert.objects.create(
            deployment=live, edge_node=node, camera="north mast", frame_id=f"frame-{index}-{now.timestamp()}",
            entry=image.entry, reference_image=image, probe_image=ContentFile(probe, name="probe.jpg"), score=score,
            threshold=live.threshold, pack_id="yunet-sface", captured_at=now, received_at=now, alerted_at=now,
        )

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
    again = operator_client.get(f"/alerts/deployments/{live.pk}/feed.json", {"after": second.pk}).json()
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
    assert deployment_alert_figures(live) == figures
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
