"""In a real headless Chromium: the operator console's script (a static file under the Content-Security-Policy)
polls its feed and toggles the alert sound, with no policy violation and no script error."""

import pytest
from playwright.sync_api import expect

from tests.browser.policy import watch_for_policy_violations
from tests.conftest import sign_in
from tests.matching.conftest import (  # noqa: F401  (fixtures)
    _clean_redis_keys, add_entry, application, authorised, dep_people,
    face_bytes, frozen, live, node, people, scheduled, watchlist, window,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_console_polls_and_toggles_the_sound_without_a_policy_violation(live_server, page, live):
    problems = watch_for_policy_violations(page)
    sign_in(page, live_server.url, "operator")
    page.goto(f"{live_server.url}/alerts/deployments/{live.pk}/")
    page.get_by_label("Why are you watching this deployment's alerts?").fill("Operator on duty at the van")
    page.get_by_role("button", name="Continue to the console").click()
    expect(page.get_by_role("heading", name=f"Alert console: {live.title}")).to_be_visible()
    with page.expect_response(lambda response: "/feed.json" in response.url and response.ok):
        pass  # the script asks the feed again within the poll interval
    expect(page.get_by_test_id("connection")).to_contain_text("Live")
    sound = page.get_by_role("button", name="Alert sound: on")
    sound.click()
    expect(page.get_by_role("button", name="Alert sound: off")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__cspViolations || []") == [] and problems == [], problems
