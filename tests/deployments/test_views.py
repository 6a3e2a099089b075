"""The deployment pages through Django's test client: who may open what, and the forms calling the services."""

import hashlib
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from deployments import selectors, services, views
from deployments.choices import DeploymentStatus
from deployments.forms import GovukDateTimeField
from deployments.models import Deployment, EdgeNode, LeafletRecord, SignageRecord
from deployments.views import _timeline_days
from lfr_governance.audit.models import AuditEvent

from .calibration_fixture import expected_proposal
from .conftest import APPLICATION

pytestmark = pytest.mark.django_db
S = DeploymentStatus
UK = ZoneInfo("Europe/London")


def when(prefix: str, moment: datetime) -> dict[str, str]:
    """The four boxes of a UK date-and-time field."""
    local = moment.astimezone(UK)
    return {f"{prefix}-day": str(local.day), f"{prefix}-month": str(local.month), f"{prefix}-year": str(local.year),
            f"{prefix}-time": local.strftime("%H:%M")}


def application_post(version, nodes, start: datetime, end: datetime, **overrides) -> dict:
    data = {key: str(value) for key, value in APPLICATION.items()}
    data.update({"watchlist_version": str(version.pk), "edge_nodes": [str(n.pk) for n in nodes],
                 "threshold": str(expected_proposal(version.size)),
                 "threshold_greyscale": str(expected_proposal(version.size, condition="greyscale")),
                 "threshold_justification": "",
                 "confirmation_frames": "2",
                 "area_polygon": "", **when("starts_at", start), **when("ends_at", end)})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = timezone.localtime().date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=UK)


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        def set(self, moment):
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def strangers(dep_people, make_user):
    """People of another team: the applicant's team group gives its own members sight of its deployments."""
    from lfr_governance.accounts.choices import Rank, Role
    from lfr_governance.accounts.services import team_get_or_create

    other = team_get_or_create(name="Another Borough Unit")
    dep_people["other_ao"] = make_user("other_ao", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT, team_=other)
    dep_people["assigned_operator"] = make_user("assigned_operator", Role.OPERATOR, team_=other)
    dep_people["other_operator"] = make_user("other_operator", Role.OPERATOR, team_=other)
    return dep_people


@pytest.fixture
def built(authorised, strangers):
    """An authorised deployment with a sign and an operator from another team assigned to it."""
    services.signage_record_add(actor=strangers["owner"], deployment=authorised, position_description="Lamp post 14",
                                latitude="51.507500", longitude="-0.127700", size="A1", placed_at=authorised.starts_at)
    services.operator_assign(actor=strangers["owner"], deployment=authorised, operator=strangers["assigned_operator"])
    return authorised


def page_urls(deployment) -> dict[str, str]:
    return {
        "schedule": reverse("deployments:schedule"),
        "create": reverse("deployments:create"),
        "detail": reverse("deployments:detail", args=[deployment.pk]),
        "edit": reverse("deployments:edit", args=[deployment.pk]),
        "decision": reverse("deployments:decision", args=[deployment.pk]),
        "edge_nodes": reverse("deployments:edge_nodes"),
        "edge_node_register": reverse("deployments:edge_node_register"),
        "published": reverse("published:list"),
    }


EXPECTED = {
    # An intelligence officer of another team: may apply, never sees this deployment.
    "outsider": {"schedule": 200, "create": 200, "detail": 404, "edit": 404, "decision": 404, "edge_nodes": 403,
                 "edge_node_register": 403, "published": 200},
    "owner": {"schedule": 200, "create": 200, "detail": 200, "edit": 200, "decision": 404, "edge_nodes": 403,
              "edge_node_register": 403, "published": 200},
    "colleague": {"schedule": 200, "create": 200, "detail": 200, "edit": 200, "decision": 404, "edge_nodes": 403,
                  "edge_node_register": 403, "published": 200},
    "ao": {"schedule": 200, "create": 403, "detail": 200, "edit": 404, "decision": 200, "edge_nodes": 403,
           "edge_node_register": 403, "published": 200},
    # An authorising officer of the applicant's team the application was not submitted to: sees, cannot decide.
    "ao2": {"schedule": 200, "create": 403, "detail": 200, "edit": 404, "decision": 404, "edge_nodes": 403,
            "edge_node_register": 403, "published": 200},
    "other_ao": {"schedule": 200, "create": 403, "detail": 404, "edit": 404, "decision": 404, "edge_nodes": 403,
                 "edge_node_register": 403, "published": 200},
    "other_operator": {"schedule": 200, "create": 403, "detail": 404, "edit": 404, "decision": 404,
                       "edge_nodes": 403, "edge_node_register": 403, "published": 200},
    "assigned_operator": {"schedule": 200, "create": 403, "detail": 200, "edit": 404, "decision": 404,
                          "edge_nodes": 403, "edge_node_register": 403, "published": 200},
    "admin": {"schedule": 403, "create": 403, "detail": 404, "edit": 404, "decision": 404, "edge_nodes": 200,
              "edge_node_register": 200, "published": 200},
}


def test_anonymous_people_are_sent_to_sign_in_except_for_the_published_record(client, built):
    for name, url in page_urls(built).items():
        response = client.get(url)
        if name == "published":
            assert response.status_code == 200
            continue
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login") + "?next="), name


@pytest.mark.parametrize("person", list(EXPECTED))
def test_who_may_open_each_page(client, built, dep_people, person):
    client.force_login(dep_people[person])
    got = {name: client.get(url).status_code for name, url in page_urls(built).items()}
    assert got == EXPECTED[person]


def test_an_unassigned_operator_and_a_missing_deployment_look_the_same(client, built, strangers):
    client.force_login(strangers["other_operator"])
    forbidden = client.get(reverse("deployments:detail", args=[built.pk]))
    missing = client.get(reverse("deployments:detail", args=[built.pk + 1000]))
    assert forbidden.status_code == missing.status_code == 404
    assert built.title not in client.get(reverse("deployments:schedule")).content.decode()


def test_post_pages_refuse_people_without_the_object_permission(client, built, dep_people):
    posts = {
        "submit": {}, "withdraw": {}, "schedule_deployment": {}, "sign_add": {}, "leaflet_add": {},
        "operator_assign": {}, "review": {}, "authorise": {"reasons": "x"}, "reject": {"reasons": "x"},
    }
    for person in ("outsider", "assigned_operator", "admin", "ao2", "other_ao"):
        client.force_login(dep_people[person])
        for name, data in posts.items():
            response = client.post(reverse(f"deployments:{name}", args=[built.pk]), data)
            assert response.status_code == 404, (person, name)
    client.force_login(dep_people["owner"])
    assert client.post(reverse("deployments:authorise", args=[built.pk]), {"reasons": "Mine"}).status_code == 404
    built.refresh_from_db()
    assert built.status == S.AUTHORISED and built.authorisations.count() == 1


def test_apply_through_the_form(client, dep_people, frozen, node):
    client.force_login(dep_people["owner"])
    url = reverse("deployments:create")
    page = client.get(url).content.decode()
    floor, grey = expected_proposal(frozen.size), expected_proposal(frozen.size, condition="greyscale")
    assert f'id="id_threshold" name="threshold" type="text" value="{floor}"' in page  # each starts at its proposal
    assert f'id="id_threshold_greyscale" name="threshold_greyscale" type="text" value="{grey}"' in page
    assert f'<option value="{frozen.pk}">Operation Harbour, version 1 (3 entries' in page
    assert f'value="{node.pk}"' in page and "Van 7 camera 1" in page
    for hint in ("Decimal degrees (WGS84)", "drives the false-alert estimate", "Only frozen versions"):
        assert hint in page

    response = client.post(url, {"title": ""})
    body = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in body
    for message in ("Enter a title for the deployment", "Enter the latitude", "Enter the start date and time",
                    "Choose the watchlist version"):
        assert message in body
    assert 'href="#id_title"' in body and 'href="#id_starts_at-day"' in body

    start, end = tomorrow_at(10), tomorrow_at(14)
    response = client.post(url, application_post(frozen, [node], start, end, latitude="51.5074"))
    deployment = Deployment.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("deployments:detail", args=[deployment.pk])
    assert deployment.status == S.DRAFT and deployment.applicant == dep_people["owner"]
    assert deployment.starts_at == start and deployment.ends_at == end  # typed in UK time, stored as that instant
    assert str(deployment.latitude) == "51.507400" and deployment.threshold == floor
    assert deployment.threshold_greyscale == grey
    assert list(deployment.edge_nodes.all()) == [node] and deployment.watchlist_version == frozen
    detail = client.get(response["Location"]).content.decode()
    assert "Town centre robbery operation" in detail and "Draft" in detail
    assert f"{start:%H:%M}" in detail and "Submit for authorisation" in detail


def test_application_rules_come_back_from_the_service(client, dep_people, frozen, node):
    client.force_login(dep_people["owner"])
    url = reverse("deployments:create")
    start, end = tomorrow_at(10), tomorrow_at(14)
    floor = expected_proposal(frozen.size)
    response = client.post(url, application_post(frozen, [node], start, end, area_radius_m="",
                                                 threshold=f"{floor - 0.05:.2f}"))
    body = response.content.decode()
    assert response.status_code == 400
    assert "Bound the area" in body and f"below the proposed threshold of {floor:.2f}" in body
    assert 'href="#id_threshold_justification"' in body and 'href="#id_area_radius_m"' in body
    response = client.post(url, application_post(frozen, [node], start, start + timedelta(hours=13)))
    assert response.status_code == 400 and "may last at most 12 hours" in response.content.decode()
    response = client.post(url, application_post(frozen, [node], start, end, area_radius_m="", threshold="0.2",
                                                 threshold_justification="A trial agreed with the DPO.",
                                                 area_polygon="51.5070, -0.1280\n51.5080, -0.1280\n51.5080, -0.1270"))
    assert response.status_code == 302
    deployment = Deployment.objects.get()
    assert deployment.threshold == 0.2 and deployment.area_polygon == [[51.507, -0.128], [51.508, -0.128],
                                                                       [51.508, -0.127]]


def test_submit_to_an_authorising_officer(client, application, dep_people):
    client.force_login(dep_people["owner"])
    detail = client.get(reverse("deployments:detail", args=[application.pk])).content.decode()
    assert f'<option value="{dep_people["ao"].pk}">' in detail and f'<option value="{dep_people["ao2"].pk}">' in detail
    assert f'<option value="{dep_people["chief_inspector"].pk}">' not in detail  # rank too low
    assert f'<option value="{dep_people["owner"].pk}">' not in detail
    url = reverse("deployments:submit", args=[application.pk])
    response = client.post(url, {"submit-authorising_officer": dep_people["chief_inspector"].pk})
    assert response.status_code == 400 and "Choose an authorising officer from the list" in response.content.decode()
    response = client.post(url, {"submit-authorising_officer": dep_people["ao"].pk})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == S.SUBMITTED and application.authorising_officer == dep_people["ao"]
    detail = client.get(response["Location"]).content.decode()
    assert "Withdraw the application" in detail and "Submitted to Ao Tester for authorisation." in detail


def test_the_authorising_officer_sees_the_estimate_and_authorises_urgently(client, application, dep_people):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    client.force_login(dep_people["ao"])
    schedule = client.get(reverse("deployments:schedule")).content.decode()
    assert 'data-testid="awaiting-decision"' in schedule and reverse("deployments:decision", args=[application.pk]) \
        in schedule
    url = reverse("deployments:decision", args=[application.pk])
    page = client.get(url).content.decode()
    figures = selectors.deployment_thresholds(application)
    for condition in ("colour", "greyscale"):  # both conditions: over the footfall, with the upper bound; at most (k=2)
        c = figures.get(condition)
        assert c.proposal.threshold == expected_proposal(3, condition=condition) and c.chosen is not None
        assert (f'data-testid="footfall-{condition}">At most {c.expected:.2f} false alerts<span class="govuk-hint '
                f'govuk-!-display-block govuk-!-margin-bottom-0">95% upper bound: {c.expected_upper_95:.2f}') in page
        assert f'data-testid="per-passer-by-{condition}">At most {c.per_passer_by_text}' in page
    assert ("2 — a passer-by alerts only when the same watchlisted person scores at or above the threshold in at "
            "least 2 frames") in page
    assert "manage.py rehearse" in page
    assert application.watchlist_version.digest in page and "3 entries" in page
    assert "Wanted by the courts (warrant)" in page and 'data-testid="deployment-map"' in page
    assert 'data-testid="map-coordinates"' in page and "51.507400, -0.127800" in page

    response = client.post(reverse("deployments:authorise", args=[application.pk]), {"reasons": ""})
    assert response.status_code == 400 and "Enter the reasons for your decision" in response.content.decode()
    response = client.post(reverse("deployments:authorise", args=[application.pk]),
                           {"reasons": "Necessary and proportionate for the robbery series.", "urgent_oral": "on"})
    assert response.status_code == 302
    application.refresh_from_db()
    authorisation = application.authorisations.get()
    assert application.status == S.AUTHORISED and authorisation.urgent_oral
    assert authorisation.written_confirmation_due_at is not None
    detail = client.get(reverse("deployments:detail", args=[application.pk])).content.decode()
    assert "Confirm your oral authorisation in writing" in detail and "Urgent, oral" in detail
    confirm = reverse("deployments:confirm", args=[authorisation.pk])
    response = client.post(confirm, {f"confirm-{authorisation.pk}-text": ""})
    assert response.status_code == 400 and "Write the confirmation" in response.content.decode()
    response = client.post(confirm, {f"confirm-{authorisation.pk}-text": "Confirmed in writing: as given orally."})
    assert response.status_code == 302
    authorisation.refresh_from_db()
    assert authorisation.written_confirmation_at and authorisation.written_confirmation_text.startswith("Confirmed")


def test_rejection_reasons_reach_the_applicant(client, application, dep_people):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    client.force_login(dep_people["ao"])
    response = client.post(reverse("deployments:reject", args=[application.pk]),
                           {"reasons": "The area is too large for the intelligence."})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == S.REJECTED
    assert "There is nothing to decide now" in client.get(
        reverse("deployments:decision", args=[application.pk])).content.decode()
    client.force_login(dep_people["owner"])
    detail = client.get(reverse("deployments:detail", args=[application.pk])).content.decode()
    assert "The area is too large for the intelligence." in detail and "Return to draft to revise it" in detail
    client.post(reverse("deployments:withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == S.DRAFT


def test_overdue_written_confirmation_is_flagged(client, application, dep_people, clock):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    authorisation = services.deployment_authorise(actor=dep_people["ao"], deployment=application, reasons="Urgent.",
                                                  urgent_oral=True)
    client.force_login(dep_people["owner"])
    assert "Confirmation overdue" not in client.get(reverse("deployments:schedule")).content.decode()
    clock.set(authorisation.written_confirmation_due_at + timedelta(minutes=1))
    schedule = client.get(reverse("deployments:schedule")).content.decode()
    assert 'data-testid="overdue-confirmations"' in schedule and "Confirmation overdue" in schedule
    detail = client.get(reverse("deployments:detail", args=[application.pk])).content.decode()
    assert 'data-testid="overdue-confirmation"' in detail


def test_edit_warns_and_returns_to_draft_only_when_what_was_authorised_changes(client, authorised, dep_people):
    client.force_login(dep_people["owner"])
    url = reverse("deployments:edit", args=[authorised.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="reauthorisation-warning"' in page and "needs a new authorisation" in page
    node = authorised.edge_nodes.get()
    same = application_post(authorised.watchlist_version, [node], authorised.starts_at, authorised.ends_at,
                            threshold=str(authorised.threshold), purpose="Locate people wanted for street robbery "
                                                                         "and burglary.")
    assert client.post(url, same).status_code == 302
    authorised.refresh_from_db()
    assert authorised.status == S.AUTHORISED and authorised.purpose.endswith("burglary.")
    response = client.post(url, {**same, "threshold": "0.5"})
    assert response.status_code == 302
    authorised.refresh_from_db()
    assert authorised.status == S.DRAFT and authorised.threshold == 0.5
    assert authorised.authorisations.get().superseded_at is not None


def test_schedule_signage_leaflets_operators_and_go_live_problems(client, authorised, dep_people):
    client.force_login(dep_people["owner"])
    detail_url = reverse("deployments:detail", args=[authorised.pk])
    assert client.post(reverse("deployments:schedule_deployment", args=[authorised.pk])).status_code == 302
    authorised.refresh_from_db()
    assert authorised.status == S.SCHEDULED
    page = client.get(detail_url).content.decode()
    assert 'data-testid="go-live-problems"' in page and "No sign is recorded as placed" in page

    sign_url = reverse("deployments:sign_add", args=[authorised.pk])
    response = client.post(sign_url, {"sign-position_description": "", **when("sign-placed_at", authorised.starts_at)})
    assert response.status_code == 400 and "Enter where the sign is" in response.content.decode()
    response = client.post(sign_url, {
        "sign-position_description": "Lamp post 14, north side", "sign-latitude": "51.5075", "sign-longitude":
        "-0.1277", "sign-size": "A1", **when("sign-placed_at", timezone.now() - timedelta(minutes=5)),
        "sign-photo": SimpleUploadedFile("sign.png", png_bytes(), content_type="image/png"),
    })
    assert response.status_code == 302
    sign = SignageRecord.objects.get()
    assert sign.placed_by == dep_people["owner"] and sign.photo and str(sign.latitude) == "51.507500"
    photo = client.get(reverse("deployments:sign_photo", args=[sign.pk]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    page = client.get(detail_url).content.decode()
    assert "Lamp post 14, north side" in page and "51.507500, -0.127700" in page
    assert "Ready: processing opens by itself" in page and "No sign is recorded" not in page

    bad = client.post(sign_url, {"sign-position_description": "Bin", "sign-latitude": "51.5", "sign-longitude": "0",
                                 "sign-size": "A2", **when("sign-placed_at", authorised.starts_at),
                                 "sign-photo": SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")})
    assert bad.status_code == 400 and "is not an image this service accepts" in bad.content.decode()
    assert SignageRecord.objects.count() == 1

    leaflet_url = reverse("deployments:leaflet_add", args=[authorised.pk])
    start = authorised.starts_at - timedelta(days=1)
    response = client.post(leaflet_url, {"leaflet-count": "200", "leaflet-where": "Station forecourt",
                                         **when("leaflet-window_start", start),
                                         **when("leaflet-window_end", start - timedelta(hours=1))})
    assert response.status_code == 400 and "must be after its start" in response.content.decode()
    response = client.post(leaflet_url, {"leaflet-count": "200", "leaflet-where": "Station forecourt",
                                         **when("leaflet-window_start", start),
                                         **when("leaflet-window_end", start + timedelta(hours=2))})
    assert response.status_code == 302 and LeafletRecord.objects.get().count == 200

    response = client.post(reverse("deployments:operator_assign", args=[authorised.pk]),
                           {"operator-operator": dep_people["operator"].pk})
    assert response.status_code == 302 and dep_people["operator"] in authorised.operators.all()
    client.force_login(dep_people["operator"])
    operator_view = client.get(detail_url).content.decode()
    assert "Lamp post 14, north side" in operator_view and "Record the sign" not in operator_view
    assert client.get(reverse("deployments:sign_photo", args=[sign.pk])).status_code == 200
    client.force_login(dep_people["outsider"])
    assert client.get(reverse("deployments:sign_photo", args=[sign.pk])).status_code == 404

    client.force_login(dep_people["owner"])
    assert client.post(reverse("deployments:sign_removed", args=[sign.pk])).status_code == 302
    sign.refresh_from_db()
    assert sign.removed_at is not None


def test_live_then_ended_then_reviewed(client, scheduled, dep_people, clock):
    services.signage_record_add(actor=dep_people["owner"], deployment=scheduled, position_description="Lamp post 14",
                                latitude="51.507500", longitude="-0.127700", size="A1", placed_at=scheduled.starts_at)
    client.force_login(dep_people["owner"])
    url = reverse("deployments:detail", args=[scheduled.pk])
    clock.set(scheduled.starts_at + timedelta(seconds=5))
    services.deployments_schedule_tick()
    page = client.get(url).content.decode()
    assert 'data-testid="live-banner"' in page and 'data-testid="go-live-problems"' not in page
    clock.set(scheduled.ends_at)
    services.deployments_schedule_tick()
    page = client.get(url).content.decode()
    assert 'data-testid="ended-note"' in page and "Record the review" in page and "Record a sign" not in page
    response = client.post(reverse("deployments:review", args=[scheduled.pk]), {"review-what_happened": ""})
    assert response.status_code == 400 and "Describe what happened" in response.content.decode()
    response = client.post(reverse("deployments:review", args=[scheduled.pk]),
                           {"review-what_happened": "Two arrests; no complaints.", "review-lessons": "More signs."})
    assert response.status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.status == S.REVIEWED
    assert "Two arrests; no complaints." in client.get(url).content.decode()


def test_cancel_needs_a_reason(client, scheduled, dep_people):
    client.force_login(dep_people["ao"])
    url = reverse("deployments:cancel", args=[scheduled.pk])
    response = client.post(url, {"cancel-reason": ""})
    assert response.status_code == 400 and "Enter why the deployment is cancelled" in response.content.decode()
    assert client.post(url, {"cancel-reason": "Intelligence no longer current."}).status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.status == S.CANCELLED and scheduled.cancelled_reason == "Intelligence no longer current."


def test_schedule_page_has_a_timeline_and_tables_in_uk_time(client, scheduled, dep_people):
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:schedule")).content.decode()
    assert 'data-testid="timeline"' in page and f'data-deployment="{scheduled.pk}"' in page
    assert 'data-testid="upcoming-table"' in page and 'data-testid="live-table"' in page
    assert timezone.localtime(scheduled.starts_at).strftime("%H:%M") in page
    assert "Apply for a deployment" in page


def test_timeline_positions_bars_by_uk_time_across_the_clock_change():
    class D:
        pk, status, title = 1, "scheduled", "Night operation"
        starts_at = datetime(2026, 10, 25, 0, 0, tzinfo=UK)
        ends_at = datetime(2026, 10, 25, 4, 0, tzinfo=UK)

    days = _timeline_days([D()], datetime(2026, 10, 24, 12, 0, tzinfo=UK))
    (day,) = days
    (bar,) = day.bars
    # 25 October 2026 has 25 hours in the UK; 04:00 comes 5 hours after midnight.
    assert day.day == date(2026, 10, 25) and bar.left == 0 and bar.width == 20.0
    assert bar.label == "00:00 to 04:00"

    class Overnight(D):
        starts_at = datetime(2026, 7, 1, 22, 0, tzinfo=UK)
        ends_at = datetime(2026, 7, 2, 2, 0, tzinfo=UK)

    first, second = _timeline_days([Overnight()], datetime(2026, 7, 1, 12, 0, tzinfo=UK))
    assert first.bars[0].clipped_after and second.bars[0].clipped_before
    assert round(first.bars[0].left + first.bars[0].width, 2) == 100 and second.bars[0].width == round(200 / 24, 2)


def test_uk_times_that_do_not_exist_are_refused():
    from django.core.exceptions import ValidationError

    field = GovukDateTimeField(noun="start date and time")
    assert field.clean({"day": "1", "month": "7", "year": "2026", "time": "10:30"}) == datetime(
        2026, 7, 1, 9, 30, tzinfo=ZoneInfo("UTC"))
    with pytest.raises(ValidationError, match="does not exist in UK time"):
        field.clean({"day": "29", "month": "3", "year": "2026", "time": "01:30"})
    with pytest.raises(ValidationError, match="24-hour time"):
        field.clean({"day": "1", "month": "7", "year": "2026", "time": "25:00"})


def test_edge_node_token_is_shown_once(client, dep_people):
    client.force_login(dep_people["admin"])
    url = reverse("deployments:edge_node_register")
    response = client.post(url, {"name": "", "camera_description": ""})
    assert response.status_code == 400 and "Enter a name for the edge node" in response.content.decode()
    response = client.post(url, {"name": "Van 9 camera 2", "camera_description": "Mast camera, 6 mm lens"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    node = EdgeNode.objects.get(name="Van 9 camera 2")
    body = response.content.decode()
    token = body.split('data-testid="edge-token" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith(node.token_prefix) and "shown only this once" in body
    assert node.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in node.token_hash
    assert selectors.edge_node_for_token(token) == node
    assert token not in client.get(reverse("deployments:edge_nodes")).content.decode()
    assert token not in client.get(url).content.decode()
    assert not AuditEvent.objects.filter(changes__icontains=token).exists()
    duplicate = client.post(url, {"name": "Van 9 camera 2", "camera_description": "Another"})
    assert duplicate.status_code == 400 and "already has this name" in duplicate.content.decode()

    assert client.post(reverse("deployments:edge_node_revoke", args=[node.pk])).status_code == 302
    node.refresh_from_db()
    assert node.revoked_at is not None and selectors.edge_node_for_token(token) is None
    client.force_login(dep_people["owner"])
    assert client.post(reverse("deployments:edge_node_revoke", args=[node.pk])).status_code == 403


def test_published_record_is_public_and_has_no_personal_data(client, scheduled, dep_people, window):
    draft = services.deployment_create(actor=dep_people["owner"], watchlist_version=scheduled.watchlist_version,
                                       starts_at=window[0], ends_at=window[1], **{**APPLICATION, "title": "Draft"})
    services.leaflet_record_add(actor=dep_people["owner"], deployment=scheduled, count=150,
                                window_start=scheduled.starts_at - timedelta(hours=3),
                                window_end=scheduled.starts_at - timedelta(hours=1), where="Station forecourt")
    response = client.get(reverse("published:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"LFR-{scheduled.pk:05d}" in body and "High Street, Exampletown" in body and "150 leaflets" in body
    assert f"LFR-{draft.pk:05d}" not in body  # a draft is not published
    for personal in ("Owner", "Tester", "owner", "Ao Tester", "CASE/2026/17", "DPIA-LFR", "PNC-0",
                     "Test Intelligence Unit", "Three of the subjects", "Operation Harbour",
                     scheduled.watchlist_version.digest):
        assert personal not in body, personal
    feeds = [reverse("deployments_api:published-list"), reverse("deployments_api:published-csv")]
    assert all(f'href="{feed}"' in body for feed in feeds)


def test_a_second_review_through_the_page_is_refused_with_a_reason(client, scheduled, dep_people):
    services.deployment_end(deployment=scheduled, reason="ended early")
    client.force_login(dep_people["owner"])
    url = reverse("deployments:review", args=[scheduled.pk])
    first = client.post(url, {"review-what_happened": "Two arrests.", "review-lessons": "", "review-issues_raised": ""})
    assert first.status_code == 302
    second = client.post(url, {"review-what_happened": "Again.", "review-lessons": "", "review-issues_raised": ""})
    assert second.status_code == 409
    assert "already been reviewed" in second.content.decode()
    scheduled.refresh_from_db()
    assert scheduled.status == S.REVIEWED and scheduled.review.what_happened == "Two arrests."
