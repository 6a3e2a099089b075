"""In a real headless Chromium: an intelligence officer applies for a deployment in the page and submits it, the
authorising officer (on a tablet, in their own session) reads the false-alert estimate and authorises it, the
officer schedules it and records a sign; the clock moves and the schedule tick takes it live, then ends it; the
public record shows its figures."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deployments import selectors, services
from deployments.models import Deployment
from tests.conftest import sign_in
from tests.deployments.calibration_fixture import expected_proposal
from tests.deployments.conftest import calibrations, dep_people, node  # noqa: F401  (shared fixtures)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
UK = ZoneInfo("Europe/London")


def fill_when(page, legend: str, moment) -> None:
    group = page.get_by_role("group", name=legend, exact=True)
    local = moment.astimezone(UK)
    group.get_by_label("Day").fill(str(local.day))
    group.get_by_label("Month").fill(str(local.month))
    group.get_by_label("Year").fill(str(local.year))
    group.get_by_label("Time (24-hour)").fill(local.strftime("%H:%M"))


def test_apply_authorise_schedule_go_live_end_and_publish(live_server, browser, page, dep_people, frozen, node,
                                                          clock, calibrations):
    ao = dep_people["ao"]
    start = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=2)

    # The intelligence officer fills in the application in the page.
    sign_in(page, live_server.url, "owner")
    page.get_by_test_id("role-navigation").get_by_role("link", name="Deployments").click()
    page.get_by_role("link", name="Apply for a deployment").click()
    expect(page.get_by_role("heading", name="Apply for a deployment")).to_be_visible()
    # Each threshold starts at its proposal from the target (the synthetic calibration's, known in closed form).
    floor = expected_proposal(frozen.size)
    expect(page.get_by_label("Match threshold for colour frames")).to_have_value(str(floor))
    expect(page.get_by_label("Match threshold for greyscale (night-time) frames")).to_have_value(
        str(expected_proposal(frozen.size, condition="greyscale")))
    expect(page.get_by_test_id("proposal-colour")).to_have_text(f"{floor:.2f}")
    expect(page.get_by_label("Frames to confirm a match")).to_have_value("2")
    page.get_by_label("Title", exact=True).fill("Operation Harbour: High Street")
    page.get_by_label("Purpose", exact=True).fill("Locate people wanted for street robbery.")
    page.get_by_label("Offence focus").fill("Robbery")
    page.get_by_label("Intelligence case reference").fill("CASE/2026/17")
    page.get_by_label("Location name").fill("High Street, Exampletown")
    page.get_by_label("Latitude of the centre").fill("51.5074")
    page.get_by_label("Longitude of the centre").fill("-0.1278")
    page.get_by_label("Area radius in metres").fill("150")
    page.get_by_label("Why watchlisted people are expected here").fill(
        "Three of the subjects were seen here on Saturday afternoons.")
    fill_when(page, "Start", start)
    fill_when(page, "End", end)
    page.get_by_label("Van 7 camera 1").check()
    page.get_by_label("Watchlist version").select_option(value=str(frozen.pk))
    page.get_by_label("Expected footfall").fill("8000")
    page.get_by_label("Necessity and proportionality statement").fill(
        "Less intrusive tactics have failed; the window is short and the area small.")
    page.get_by_label("DPIA reference").fill("DPIA-LFR-2026-03")
    page.get_by_label("Community impact assessment").fill("Consulted the independent advisory group.")
    page.get_by_label("Public pre-notice").fill("https://police.example/lfr/notice-17")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_role("heading", name="Operation Harbour: High Street")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Draft")
    deployment = Deployment.objects.get()
    assert deployment.starts_at == start and deployment.ends_at == end and deployment.threshold == floor
    assert deployment.confirmation_frames == 2  # the form starts at 2, and the officer left it

    # The map and the coordinates that stand in for it when tiles cannot load.
    expect(page.get_by_test_id("deployment-map")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("map-coordinates")).to_contain_text("51.507400, -0.127800")

    # Submitted to the authorising officer.
    page.get_by_label("Authorising officer").select_option(value=str(ao.pk))
    page.get_by_role("button", name="Submit for authorisation").click()
    expect(page.get_by_test_id("status")).to_have_text("Submitted for authorisation")

    # The authorising officer, on a tablet in their own session, reads the estimate and authorises.
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-GB", timezone_id="Europe/London")
    try:
        decide = context.new_page()
        decide.set_default_timeout(15000)
        sign_in(decide, live_server.url, "ao")
        decide.get_by_test_id("role-navigation").get_by_role("link", name="Deployments").click()
        decide.get_by_test_id("awaiting-decision").get_by_role("link", name="Operation Harbour: High Street").click()
        figures = selectors.deployment_thresholds(deployment)
        # Per passer-by and over the footfall, per condition; at most, with the default 2 frames to confirm a match.
        for c in figures.conditions:
            expect(decide.get_by_test_id(f"footfall-{c.condition}")).to_contain_text(
                f"At most {c.expected:.2f} false alerts")
            expect(decide.get_by_test_id(f"footfall-{c.condition}")).to_contain_text(
                f"95% upper bound: {c.expected_upper_95:.2f}")
            expect(decide.get_by_test_id(f"proposal-{c.condition}")).to_have_text(f"{c.proposal.threshold:.2f}")
        expect(decide.get_by_test_id("decision-equitability")).to_contain_text("Ratio to overall")
        expect(decide.get_by_test_id("estimate-k")).to_contain_text(
            "Frames to confirm a match: 2 — a passer-by alerts only when the same watchlisted person scores at or "
            "above the threshold in at least 2 frames")
        expect(decide.get_by_test_id("watchlist-size")).to_have_text("3 entries")
        expect(decide.get_by_test_id("watchlist-digest")).to_have_text(frozen.digest)
        decide.get_by_label("Reasons for your decision").fill("Necessary and proportionate for the robbery series.")
        decide.get_by_role("button", name="Authorise").click()
        expect(decide.get_by_text("You authorised the deployment.")).to_be_visible()
        expect(decide.get_by_test_id("status")).to_have_text("Authorised")
    finally:
        context.close()

    # The officer schedules it and records the sign.
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Authorised")
    page.get_by_role("button", name="Schedule the deployment").click()
    expect(page.get_by_test_id("status")).to_have_text("Scheduled")
    expect(page.get_by_test_id("go-live-problems")).to_contain_text("No sign is recorded as placed")
    page.get_by_text("Record a sign").click()
    page.get_by_label("Where the sign is").fill("Lamp post 14, north side of High Street")
    page.get_by_label("Latitude of the sign").fill("51.5076")
    page.get_by_label("Longitude of the sign").fill("-0.1279")
    page.get_by_label("Sign size").fill("A1")
    page.get_by_role("button", name="Record the sign").click()
    expect(page.get_by_text("Sign at Lamp post 14, north side of High Street recorded.")).to_be_visible()
    expect(page.get_by_test_id("signs-table")).to_contain_text("Lamp post 14, north side of High Street")
    expect(page.get_by_test_id("map-coordinates")).to_contain_text("51.507600, -0.127900")
    expect(page.get_by_test_id("go-live-problems")).not_to_contain_text("No sign is recorded")

    # The clock reaches the start: the tick opens processing and the page shows it live.
    clock.set(start + timedelta(seconds=5))
    assert services.deployments_schedule_tick()["opened"] == [deployment.pk]
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Live")
    expect(page.get_by_test_id("live-banner")).to_contain_text("closes by itself at")

    # Past the end: the tick closes it.
    clock.set(end + timedelta(seconds=5))
    assert services.deployments_schedule_tick()["closed"] == [deployment.pk]
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Ended")
    expect(page.get_by_role("button", name="Record the review")).to_be_visible()

    # The public record, without signing in.
    public = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-GB", timezone_id="Europe/London")
    try:
        record = public.new_page()
        record.goto(f"{live_server.url}/published/")
        card = record.get_by_test_id(f"published-LFR-{deployment.pk:05d}")
        expect(card).to_contain_text("High Street, Exampletown")
        expect(card).to_contain_text("120 minutes")
        expect(card.get_by_test_id("figure-watchlist_size")).to_have_text("3")
        expect(card.get_by_test_id("figure-signs")).to_contain_text("1 sign")
        expect(card.get_by_test_id("figure-false_alert_rate")).to_have_text("no passers-by yet")  # no frame came
        expect(card).not_to_contain_text("Owner")
    finally:
        public.close()
