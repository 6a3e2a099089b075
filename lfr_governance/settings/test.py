"""Tests: real PostgreSQL and Redis from DATABASE_URL / REDIS_URL, fast password hashing."""

from .base import *  # noqa: F401,F403
from pathlib import Path

from .base import BASE_DIR, env

DEBUG = False
SECRET_KEY = "test-only-secret-key"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests: read static files on request

# Plain http on this machine: cookies without the Secure flag (production.py and base.py keep it).
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Some tests move Django's clock (timezone.now) by hours or days inside one signed-in session: the session
# limits are far away here. tests/accounts/test_sign_in_protection.py checks the real ones (policy.py) by setting them.
SESSION_COOKIE_AGE = 365 * 24 * 60 * 60
LFR_SESSION_MAX_AGE_SECONDS = 365 * 24 * 60 * 60
