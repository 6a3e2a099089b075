"""Production settings refuse to start without secrets, and are secure when they do."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({k: getattr(settings, k) for k in ('DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', "
    "'FILE_UPLOAD_HANDLERS', 'FILE_UPLOAD_MAX_MEMORY_SIZE', 'LFR_MAX_UPLOAD_BYTES')}))"
)


STRONG_KEY = "s3cret-Key-for-tests-only-0123456789-abcdefghij-KLMNOP"


def _start(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    env.setdefault("LFR_AUDIT_ANCHOR_KEY", "k" * 64)
    env.update(DJANGO_SETTINGS_MODULE="lfr_governance.settings.production", **overrides)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_secret_key():
    result = _start(ALLOWED_HOSTS="lfr.example.police.uk")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _start(ALLOWED_HOSTS="lfr.example.police.uk", SECRET_KEY="short")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _start(SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_starts_secure_with_both():
    result = _start(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="lfr.example.police.uk", DEBUG="true")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False  # DEBUG=true in the environment is ignored in production
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] and values["X_FRAME_OPTIONS"] == "DENY"
    # Uploads are held in memory only, up to the hard cap.
    assert values["FILE_UPLOAD_HANDLERS"] == ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
    assert values["FILE_UPLOAD_MAX_MEMORY_SIZE"] >= values["LFR_MAX_UPLOAD_BYTES"]


def test_production_refuses_to_start_without_the_audit_anchor_key():
    result = _start(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="lfr.example.police.uk", LFR_AUDIT_ANCHOR_KEY="",
                    LFR_AUDIT_ANCHOR_KEY_FILE="/nonexistent/audit-anchor.key")
    assert result.returncode != 0
    assert "LFR_AUDIT_ANCHOR_KEY is not set" in result.stderr


@pytest.mark.parametrize("key", ["x" * 60, "django-insecure-" + "a1b2c3d4e5" * 5, "Ab1-" * 10])
def test_production_refuses_a_weak_secret_key(key):
    result = _start(ALLOWED_HOSTS="lfr.example.police.uk", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY is" in result.stderr


def test_production_refuses_any_host():
    result = _start(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="*")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS=* answers any Host header" in result.stderr


def test_the_deployment_checklist_is_clean_with_production_settings():
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE either: a server never runs with it.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_SETTINGS_MODULE="lfr_governance.settings.production", SECRET_KEY=STRONG_KEY,
               ALLOWED_HOSTS="lfr.example.police.uk", LFR_AUDIT_ANCHOR_KEY="k" * 64)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
