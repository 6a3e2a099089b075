"""In a real headless Chromium, by keyboard only: an operator opens how the passer-by appeared on an alert's card,
chooses from the lists, decides false alert, and adds the one left afterwards."""

import pytest
from playwright.sync_api import expect

from lfr_governance.audit.models import AuditEvent
from tests.browser.policy import watch_for_policy_violations
from tests.browser.test_operator_console import _alert_seen
from tests.conftest import sign_in
from tests.matching.conftest import (  # noqa: F401  (fixtures)
    _clean_redis_keys, add_entry, application, authorised, dep_people,
    face_bytes, frozen, jpeg_of, live, node, people, scheduled, watchlist, window,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tab_to(page, target, limit: int = 40) -> None:
    """Presses Tab until `target` has the focus (it must be reachable by Tab alone)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} was not reached by Tab in {limit} presses")


def _choose(page, select, presses: int, value: str) -> None:
    _tab_to(page, select)
    for _ in range(presses):
        page.keyboard.press("ArrowDown")
    expect(select).to_have_value(value)


def test_the_fields_are_reached_and_submitted_by_keyboard_alone(live_server, page, live, node, face_bytes):
    problems = watch_for_policy_violations(page)
    alert = _alert_seen(live, node, jpeg_of(face_bytes("img2.jpg"), size=(120, 120)), 0, sightings=1)
    sign_in(page, live_server.url, "operator")
    page.goto(f"{live_server.url}/alerts/deployments/{live.pk}/")
    page.get_by_label("Why are you watching this deployment's alerts?").fill("Operator on duty at the van")
    page.get_by_role("button", name="Continue to the console").press("Enter")
    card = page.get_by_test_id("alert")
    expect(card).to_have_count(1)
    page.keyboard.press("j")
    expect(card).to_be_focused()

    # With the decision: open the disclosure, choose an age band and an ethnicity, leave the gender not recorded.
    decision = card.locator('[data-form="decision"]')
    summary = decision.locator("summary", has_text="False alert? How the passer-by appeared (optional)")
    _tab_to(page, summary)
    page.keyboard.press("Enter")
    age = decision.get_by_label("Age band (as perceived)")
    expect(age).to_be_visible()
    expect(decision.get_by_role("group", name="How the passer-by appeared to you (optional)")).to_be_visible()
    _choose(page, age, 3, "25_34")
    _choose(page, decision.get_by_label("Ethnicity (as perceived)"), 4, "white")
    _tab_to(page, decision.get_by_role("button", name="False alert"))
    page.keyboard.press("Enter")
    expect(card).to_contain_text("False alert (operator")
    expect(card).to_contain_text("As perceived: 25 to 34; White.")
    alert.refresh_from_db()
    assert (alert.decision, alert.perceived_age_band, alert.perceived_gender, alert.perceived_ethnicity) == (
        "false_alert", "25_34", "", "white")

    # Afterwards: only the gender is left to add.
    later = card.locator('[data-form="perceived"]')
    expect(later).to_be_visible()
    expect(later.get_by_label("Age band (as perceived)")).to_be_hidden()
    _tab_to(page, later.locator("summary", has_text="Add how the passer-by appeared"))
    page.keyboard.press("Enter")
    _choose(page, later.get_by_label("Gender (as perceived)"), 2, "male")
    _tab_to(page, later.get_by_role("button", name="Record how the passer-by appeared"))
    page.keyboard.press("Enter")
    expect(card).to_contain_text("As perceived: 25 to 34; Male; White.")
    expect(later).to_be_hidden()  # all three recorded: nothing left to add
    expect(page.locator("#announcer")).to_contain_text("how the passer-by appeared recorded")
    alert.refresh_from_db()
    assert alert.perceived_gender == "male"
    assert AuditEvent.objects.get(event="alert.perception").changes == {"perceived_gender": [None, "male"]}
    assert page.evaluate("window.__cspViolations || []") == [] and problems == [], problems
