"""Production: refuses to start without a secret key and allowed hosts; secure by default."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import ALLOWED_HOSTS, LFR_AUDIT_ANCHOR_KEY, LFR_AUDIT_ANCHOR_KEY_FILE, SECRET_KEY, env

DEBUG = False

if not SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set (or shorter than 32 characters). Set SECRET_KEY in the environment "
        "to a long random value, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
# Django's own test of a weak key (security.W009): shorter than 50, fewer than 5 distinct characters, or a
# development key. Refused here rather than warned about, so a weak key never reaches service.
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "SECRET_KEY is weak: it needs at least 50 characters, of at least 5 different kinds, and must not be a "
        "development key. Use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set ALLOWED_HOSTS in the environment to the host names this "
        "service answers on, comma-separated, e.g. ALLOWED_HOSTS=lfr.example.police.uk."
    )

# The audit log's checkpoints are signed with a key the database never holds: given, never made here.
LFR_AUDIT_ANCHOR_KEY_CREATE = False
if (len(LFR_AUDIT_ANCHOR_KEY) < 32) if LFR_AUDIT_ANCHOR_KEY else not Path(LFR_AUDIT_ANCHOR_KEY_FILE).is_file():
    raise ImproperlyConfigured(
        "LFR_AUDIT_ANCHOR_KEY is not set (or shorter than 32 characters) and there is no key file at "
        "LFR_AUDIT_ANCHOR_KEY_FILE. Set it to a long random value kept away from the database server, e.g. from "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`, and keep a copy: checkpoints need it."
    )

if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS=* answers any Host header (password-reset links and redirects could name another site). "
        "List the host names this service answers on, e.g. ALLOWED_HOSTS=lfr.example.police.uk."
    )

# The container's own health check calls http://127.0.0.1:8000/healthz.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{h}" for h in ALLOWED_HOSTS])
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
