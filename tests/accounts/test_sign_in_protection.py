"""Security finding 5: repeated wrong passwords lock the username; sessions end when idle or too old."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from lfr_governance.audit.models import AuditEvent
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_failures_lock_the_username_until_the_cool_off_has_passed(client, users):
    user = users["operator"]
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME >= timedelta(minutes=10)
    for n in range(5):
        # From a different address each time: the username is locked, not the address.
        _attempt(client, user.username, "not-the-password", address=f"10.0.0.{n + 1}")

    response = _attempt(client, user.username, TEST_PASSWORD, address="10.9.9.9")
    body = response.content.decode()
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "You can try again after" in body and "15 minutes from now" in body
    assert user.username not in body and TEST_PASSWORD not in body
    assert AuditEvent.objects.filter(event="auth.locked_out", changes={"username": user.username}).exists()
    assert not AuditEvent.objects.filter(event="auth.login", actor=user).exists()

    # After the cool-off (axes compares its own rows' times with now): the right password works.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    response = _attempt(client, user.username, TEST_PASSWORD, address="10.9.9.9")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_the_lockout_page_is_the_same_for_a_username_that_does_not_exist(client, users):
    for _ in range(5):
        _attempt(client, "nobody-by-this-name", "not-the-password")
    response = _attempt(client, "nobody-by-this-name", "whatever")
    assert response.status_code == 429 and "You can try again after" in response.content.decode()


def test_four_failures_then_the_right_password_signs_in_and_resets_the_count(client, users):
    user = users["operator"]
    for _ in range(4):
        _attempt(client, user.username, "not-the-password")
    assert _attempt(client, user.username, TEST_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username, failures_since_start__gt=0).exists()


def _age_session(client, **changes):
    session = client.session
    for key, value in changes.items():
        session[key] = value
    session.save()


@pytest.fixture
def policy_session_limits(settings):
    """The production limits (test settings keep them far away for tests that move the clock by days)."""
    from lfr_governance.settings import policy

    assert policy.SESSION_COOKIE_AGE == 30 * 60 and policy.LFR_SESSION_MAX_AGE_SECONDS == 12 * 60 * 60
    settings.SESSION_COOKIE_AGE = policy.SESSION_COOKIE_AGE
    settings.LFR_SESSION_MAX_AGE_SECONDS = policy.LFR_SESSION_MAX_AGE_SECONDS
    return settings


def test_a_session_ends_after_thirty_idle_minutes(client, users, policy_session_limits):
    from django.contrib.sessions.models import Session

    user = users["operator"]
    client.force_login(user)
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert client.get("/").status_code == 200
    expires = Session.objects.get(session_key=client.session.session_key).expire_date
    assert abs((expires - timezone.now()).total_seconds() - 1800) < 60  # each request moves it on to now + 30 min
    # Each request moves the expiry on: age the stored expiry as if the last request was 31 minutes ago.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_session_ends_twelve_hours_after_sign_in_however_active(client, users, policy_session_limits):
    from lfr_governance.middleware import SESSION_SIGNED_IN_AT_KEY

    user = users["operator"]
    client.force_login(user)
    signed_in_at = client.session[SESSION_SIGNED_IN_AT_KEY]
    assert abs(signed_in_at - timezone.now().timestamp()) < 60
    _age_session(client, **{SESSION_SIGNED_IN_AT_KEY: timezone.now().timestamp() - 11 * 60 * 60})
    assert client.get("/").status_code == 200

    _age_session(client, **{SESSION_SIGNED_IN_AT_KEY: timezone.now().timestamp() - 12 * 60 * 60 - 60})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert AuditEvent.objects.filter(event="auth.logout", actor=user).exists()
    assert client.get("/api/v1/watchlists/").status_code in (401, 403)


def test_the_session_cookie_is_http_only_and_secure_outside_development():
    from lfr_governance.settings import base

    assert settings.SESSION_COOKIE_HTTPONLY
    assert base.SESSION_COOKIE_SECURE and base.CSRF_COOKIE_SECURE
