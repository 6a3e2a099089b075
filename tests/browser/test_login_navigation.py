"""In a real headless Chromium: sign in, see the role's navigation, sign out."""

import pytest

from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dpo_signs_in_and_sees_the_audit_log(live_server, page, users):
    sign_in(page, live_server.url, "dpo")
    nav = page.get_by_test_id("role-navigation")
    assert nav.get_by_role("link", name="Audit log").is_visible()
    assert nav.get_by_role("link", name="Users and roles").count() == 0
    assert "Data Protection Officer" in page.get_by_test_id("signed-in-as").inner_text()
    nav.get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"{live_server.url}/audit/")
    assert page.get_by_role("heading", name="Audit log").is_visible()
    assert "Chain intact" in page.get_by_test_id("chain-status").inner_text()
    assert page.get_by_role("cell", name="auth.login").first.is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/login/")


def test_intelligence_officer_does_not_see_the_audit_log(live_server, page, users):
    sign_in(page, live_server.url, "intelligence_officer")
    assert page.get_by_role("heading", name="Live facial recognition governance").is_visible()
    assert page.get_by_test_id("role-navigation").get_by_role("link", name="Audit log").count() == 0
    page.goto(f"{live_server.url}/audit/")
    assert page.get_by_role("heading", name="You do not have access to this page").is_visible()


def test_wrong_password_shows_an_error_summary(live_server, page, users):
    sign_in(page, live_server.url, "dpo", password="wrong-password")
    assert page.get_by_role("alert").get_by_text("There is a problem").is_visible()
    assert page.url.endswith("/login/")
