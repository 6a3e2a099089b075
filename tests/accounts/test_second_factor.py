"""Every person gives a second factor: an authenticator app enrolled at the first sign-in, asked for at every
sign-in, with ten single-use recovery codes shown once."""

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from lfr_governance.audit.models import AuditEvent
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _password(client, user):
    response = client.post("/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client.get(response["Location"])


def _let_the_throttle_pass():
    # django-otp makes each device wait after a wrong code (1 s, doubling): tests do not wait it out.
    for model in (StaticDevice, TOTPDevice):
        model.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)


def _code(device, step_offset=0):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=step_offset):06d}"


def test_first_sign_in_enrols_an_authenticator_and_shows_ten_recovery_codes_once(users):
    client = Client()
    user = users["operator"]
    response = _password(client, user)
    assert response.status_code == 302 and response["Location"].startswith("/mfa/verify/")
    assert client.get("/").status_code == 302  # nothing before the second factor
    response = client.get("/mfa/verify/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/mfa/enrol")
    body = response.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert "otpauth://totp/" in body and re.search(r'data-testid="mfa-key">[A-Z2-7]{32}<', body)

    wrong = "000000" if _code(device) != "000000" else "111111"
    assert "The code is wrong" in client.post("/mfa/enrol/", {"code": wrong}).content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = client.post("/mfa/enrol/", {"code": _code(device)}, follow=True)
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=user, token__in=codes).count() == 10
    assert AuditEvent.objects.filter(event="auth.second_factor_enrolled", actor=user).exists()
    assert client.get("/").status_code == 200
    # Shown once: the enrolment page now sends an enrolled person on.
    assert not re.findall(r"<li><code>", client.get("/mfa/enrol/", follow=True).content.decode())

    # The next sign-in asks for the code; a recovery code works once.
    other = Client()
    assert _password(other, user)["Location"].startswith("/mfa/verify/")
    response = other.post("/mfa/verify/", {"code": "not-a-code"})
    assert response.status_code == 200 and "The code is wrong" in response.content.decode()
    assert AuditEvent.objects.filter(event="auth.second_factor_failed", actor=user).exists()
    _let_the_throttle_pass()
    assert other.post("/mfa/verify/", {"code": codes[0], "next": "/alerts/"})["Location"] == "/alerts/"
    assert other.get("/").status_code == 200
    third = Client()
    _password(third, user)
    assert third.post("/mfa/verify/", {"code": codes[0]}).status_code == 200  # used up
    _let_the_throttle_pass()
    assert third.post("/mfa/verify/", {"code": codes[1]}).status_code == 302
    assert third.get("/").status_code == 200


def test_the_session_api_needs_the_second_factor_and_the_edge_api_is_not_asked(users):
    client = Client()
    _password(client, users["intelligence_officer"])
    response = client.get("/api/v1/watchlists/")
    assert response.status_code == 403 and response.json()["code"] == "second_factor_required"
    assert client.get("/api/edge/v1/").status_code != 302


def test_force_login_in_tests_is_verified_like_a_completed_sign_in(client, users):
    client.force_login(users["operator"])
    assert client.get("/").status_code == 200
