"""In a real headless Chromium: sign in, see the role's navigation, sign out."""

import pytest

from tests.conftest import TEST_PASSWORD, sign_in

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


def test_first_sign_in_shows_a_qr_code_that_scans_to_the_set_up_address_and_enrols(live_server, page, users):
    """The enrolment page's QR code, as the browser draws it, read back by OpenCV's QR decoder: it is the set-up
    address the page also gives as text; a code from that key (as an app would compute it) completes enrolment."""
    import base64
    from urllib.parse import parse_qs, urlsplit

    import cv2
    import numpy as np
    from django_otp.oath import totp

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("dpo")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa/enrol/**")
    qr = page.get_by_test_id("mfa-qr").locator("svg")
    assert qr.get_by_text("QR code of the set-up address").count() == 1  # its accessible name (<title>)
    png = qr.screenshot()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    page.get_by_text("Set-up address for apps that take one").click()
    address = page.get_by_test_id("mfa-config-url").inner_text()
    assert decoded == address and address.startswith("otpauth://totp/")
    secret = parse_qs(urlsplit(address).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("recovery-codes").is_visible()
