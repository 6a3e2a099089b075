"""Shared fixtures: people per role built with the real services, a real Celery worker, a real browser."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from lfr_governance import clock as app_clock
from lfr_governance.accounts.choices import Rank, Role
from matching.routing import frame_queues

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each test run keeps its own media folder (other runs on this machine may share var/), set at import,
# before the session's Celery worker starts with settings.MEDIA_ROOT. The proof-of-deletion checks need
# every file there to belong to this run.
MEDIA_ROOT = Path(settings.BASE_DIR) / "var" / "test-media" / f"run-{os.getpid()}"
settings.MEDIA_ROOT = MEDIA_ROOT


@pytest.fixture(scope="session", autouse=True)
def _private_media_root():
    MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    yield MEDIA_ROOT
    shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_media_root(_private_media_root):
    """Each test's database is rolled back or flushed, so the files its rows referenced go with it."""

    def empty():
        for child in MEDIA_ROOT.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    empty()
    yield
    empty()
TEST_PASSWORD = "correct-horse-battery-staple"

ROLE_RANKS = {
    Role.INTELLIGENCE_OFFICER: Rank.CONSTABLE,
    Role.REVIEWER: Rank.SERGEANT,
    Role.AUTHORISING_OFFICER: Rank.SUPERINTENDENT,
    Role.OPERATOR: Rank.CONSTABLE,
    Role.DPO: Rank.CIVILIAN,
    Role.ADMINISTRATOR: Rank.CIVILIAN,
}


@pytest.fixture
def team(db):
    from lfr_governance.accounts.services import team_get_or_create

    return team_get_or_create(name="Test Intelligence Unit")


@pytest.fixture
def make_user(db, team):
    """Builds a person through the real service: make_user("reviewer", Role.REVIEWER)."""
    from lfr_governance.accounts.services import user_create

    def _make(username: str, *roles: str, rank: str | None = None, team_=None):
        if rank is None:
            rank = ROLE_RANKS[Role(roles[0])] if roles else Rank.CONSTABLE
        return user_create(
            username=username, password=TEST_PASSWORD, first_name=username.title(), last_name="Tester",
            roles=list(roles), rank=rank,
            team=team_ or team,
        )

    return _make


@pytest.fixture
def users(make_user):
    """One person per role, keyed by the role's value, plus `unrelated` with no role."""
    people = {role.value: make_user(role.value, role) for role in Role}
    people["unrelated"] = make_user("unrelated")
    return people


class _TestClock:
    """The application's one clock (lfr_governance/clock.py), moved for the whole test process."""

    def set(self, moment) -> None:
        app_clock.freeze(moment)

    def now(self):
        return app_clock.now()


@pytest.fixture
def clock():
    """Moves the app's clock for this test, live server threads included; released afterwards."""
    yield _TestClock()
    app_clock.freeze(None)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared face images, found through one setting (LFR_FACES_DIR)."""
    path = Path(settings.LFR_FACES_DIR)
    if not (path / "deepface" / "identities.csv").exists():
        pytest.fail(f"Face images not found at {path}; set LFR_FACES_DIR to the folder holding deepface/.")
    return path


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test database and the test Redis."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lfr_governance.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lfr_governance", "worker", "--loglevel", "WARNING",
         "--concurrency", "1", "--pool", "prefork", "--hostname", f"test-worker-{os.getpid()}@%h", "--without-mingle",
         "--without-gossip", "--queues", ",".join(["celery", *frame_queues()])],
        cwd=REPO_ROOT, env=env, start_new_session=True,
    )
    from lfr_governance.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The Celery worker exited with status {process.returncode} on start-up.")
        if app.control.ping(timeout=0.5):
            break
    else:
        pytest.fail("The Celery worker did not answer a ping within 60 seconds.")
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (Debian's package) driven by Playwright."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("LFR_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable}: install Debian's chromium package or set LFR_CHROMIUM.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB",
                                  timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def second_factor_code(username: str) -> str:
    """A fresh single-use recovery code for the person (tests only): passes the second factor as a person would."""
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.get(username=username)
    TOTPDevice.objects.get_or_create(user=user, name="Test authenticator", defaults={"confirmed": True})
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Test recovery codes", defaults={"confirmed": True})
    return device.token_set.create(token=StaticToken.random_token()).token


def sign_in(page, live_server_url: str, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{live_server_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    if "/mfa/" in page.url:
        code = second_factor_code(username)
        if "/mfa/enrol/" in page.url:
            page.goto(page.url.replace("/mfa/enrol/", "/mfa/verify/"))
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state("networkidle")


@pytest.fixture(scope="session", autouse=True)
def _force_login_passes_the_second_factor():
    """Tests only: client.force_login also marks the session verified with a test device, as the MFA page would
    (django_otp.login's session key). Production enforcement (SecondFactorRequiredMiddleware) is unchanged."""
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_static.models import StaticDevice

        original(self, user, backend)
        device, _ = StaticDevice.objects.get_or_create(user=user, name="Test recovery codes",
                                                       defaults={"confirmed": True})
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    ClientMixin.force_login = force_login
    yield
    ClientMixin.force_login = original
