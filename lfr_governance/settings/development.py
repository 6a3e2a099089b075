"""Development: defaults that just work on one machine."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="development-only-secret-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# Serve static files straight from static/ (no collectstatic step in development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Plain http on this machine: cookies without the Secure flag (production.py and base.py keep it).
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
