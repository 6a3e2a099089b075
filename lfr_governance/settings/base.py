"""Settings shared by every shape of the system, read from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # ReDoc served from this app: no CDN at run time
    "guardian",
    "django_otp",  # the second factor: an authenticator app (TOTP) and recovery codes (static), for everyone
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",  # sign-in lockout: AccessAttempt rows per username (lfr_governance/settings/policy.py)
    "lfr_governance.audit",
    "lfr_governance.accounts",
    "lfr_governance.retention",
    "watchlists",
    "deployments",
    "matching",
    "tools",  # demo data, edge simulator, benchmark, proof of deletion: imports the apps, never imported by them
]

MIDDLEWARE = [
    # First: refuses oversize bodies before anything (CSRF included) reads them.
    "lfr_governance.middleware.UploadSizeLimitMiddleware",
    "lfr_governance.middleware.RequestIdMiddleware",
    # Under /api/, every error answer in the API's JSON body: never a debug page (settings, the caller's token).
    "lfr_governance.middleware.ApiErrorBodyMiddleware",
    # Refuses NUL characters and over-long forms (400) before sessions, CSRF or a view read them.
    "lfr_governance.middleware.RequestInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (django-csp), on every response, static files included.
    "lfr_governance.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signs out a session older than LFR_SESSION_MAX_AGE_SECONDS from its sign-in.
    "lfr_governance.middleware.SessionAgeLimitMiddleware",
    # No page or session API without the second factor (enrolment and verification: lfr_governance/accounts/views.py).
    "lfr_governance.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lfr_governance.urls"
WSGI_APPLICATION = "lfr_governance.wsgi.application"
ASGI_APPLICATION = "lfr_governance.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lfr_governance.navigation.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/lfr")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No anonymous guardian user: anonymous visitors get no object permissions at all.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# Stored in UTC; shown in Europe/London, clock changes included.
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media-not-served/"  # media holds evidence and watchlist images: served only through audited views

# Uploads: a frame or image is held in memory and never spills to a temporary file.
# Requests above LFR_MAX_UPLOAD_BYTES are answered 413 before their body is read.
LFR_MAX_UPLOAD_BYTES = env.int("LFR_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = LFR_MAX_UPLOAD_BYTES  # raised below to the bulk-import cap
DATA_UPLOAD_MAX_MEMORY_SIZE = LFR_MAX_UPLOAD_BYTES
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 200

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "lfr_governance.schema.AutoSchema",  # documents the shared 400 (lists) and 415 (bodies)
    "DEFAULT_PAGINATION_CLASS": "lfr_governance.api.Pagination",  # limit and offset checked in range
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "lfr_governance.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LFR governance API",
    "DESCRIPTION": "Watchlists, deployments, edge ingestion and alerts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"DeploymentStatusEnum": "deployments.choices.DeploymentStatus"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Celery: the Redis that carries frames runs without persistence in every shape.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_DISABLE_RATE_LIMITS = True  # no task has a Celery rate limit; the frame path skips the check
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

from .policy import LFR_AUDIT_ANCHOR_INTERVAL_SECONDS, LFR_PURGE_INTERVAL_SECONDS  # noqa: E402

# Frames of one camera are processed in capture order by one process at a time: each camera (edge node and camera
# name) hashes to one of LFR_FRAME_SHARDS queues (matching/routing.py), and each queue has exactly one consumer, a
# worker process of concurrency 1 (`celery worker -Q lfr.frames.<n> --concurrency 1`; the run command and compose
# start one per shard). More shards and worker processes (on more hosts, each running its own shards) add
# throughput: cameras spread over them. Web, beat and every worker must agree on the number.
LFR_FRAME_SHARDS = env.int("LFR_FRAME_SHARDS", default=2)
# The process's part (LFR_WORKER_ROLE): a frames worker redelivers a message whose worker died after this visibility
# timeout, from its own unacked keys, so a frame in flight when a worker was killed is still matched within its TTL.
LFR_WORKER_ROLE = env("LFR_WORKER_ROLE", default="")

CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "lfr_governance.heartbeat", "schedule": 15.0},
    # Opens processing at each deployment's start and closes it at its end.
    "deployments-schedule-tick": {"task": "deployments.schedule_tick", "schedule": 10.0},
    # Deletes what the retention policy says is due.
    "retention-purge": {"task": "retention.purge", "schedule": float(LFR_PURGE_INTERVAL_SECONDS)},
    # Signs the audit chain's head with a key the database does not hold (lfr_governance/audit/anchors.py).
    "audit-checkpoint": {"task": "audit.checkpoint", "schedule": float(LFR_AUDIT_ANCHOR_INTERVAL_SECONDS)},
}
# Each frames queue's consumer proves itself too: a heartbeat per shard, on that shard's queue.
FRAME_QUEUE_PREFIX = "lfr.frames."
CELERY_BEAT_SCHEDULE.update({
    f"frames-heartbeat-{shard}": {"task": "lfr_governance.heartbeat", "schedule": 15.0, "kwargs": {"part": str(shard)},
                                  "options": {"queue": f"{FRAME_QUEUE_PREFIX}{shard}", "expires": 30}}
    for shard in range(LFR_FRAME_SHARDS)
})
# /healthz answers 503 when no worker has answered for this long.
LFR_WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("LFR_WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=60)

# Face engine
LFR_FACE_PACK = env("LFR_FACE_PACK", default="yunet-sface")
LFR_MODEL_DIR = env("LFR_MODEL_DIR", default=str(BASE_DIR / "var" / "model-packs"))
LFR_MODEL_CACHE = env("LFR_MODEL_CACHE", default=str(BASE_DIR / "var" / "models"))
LFR_CALIBRATION_DIR = env("LFR_CALIBRATION_DIR", default=str(BASE_DIR / "var" / "calibration"))
LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED = env.bool("LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED", default=False)
LFR_ONNX_THREADS = env.int("LFR_ONNX_THREADS", default=2)
# ONNX Runtime providers, in order of preference (e.g. CUDAExecutionProvider,CPUExecutionProvider with
# onnxruntime-gpu: `pip install -e '.[gpu]'`); empty: CUDA where available, else CPU. A provider named here that this
# host cannot run stops the engine from loading, with why and what to install.
LFR_ONNX_PROVIDERS = env.list("LFR_ONNX_PROVIDERS", default=[])
LFR_FACES_DIR = env("LFR_FACES_DIR", default=str(BASE_DIR.parent / "shared" / "faces"))

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Cookies only over HTTPS; development.py and test.py (plain http on one machine) turn this off.
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# A session ends after SESSION_COOKIE_AGE without a request (each request moves the expiry on), and
# LFR_SESSION_MAX_AGE_SECONDS after sign-in whatever happens (lfr_governance.middleware.SessionAgeLimitMiddleware).
SESSION_SAVE_EVERY_REQUEST = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "lfr_governance.middleware.RequestIdLogFilter"},
        # A 403, 404 or refused body is one line, without the traceback Django attaches.
        "client_errors": {"()": "lfr_governance.middleware.ClientErrorStackFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["request_id", "client_errors"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes says "INFO" at every sign-in and request it checks; failures and lockouts stay (WARNING).
    "loggers": {"axes": {"level": "WARNING"}},
}
# django-axes warns unless the address is a lockout parameter too. Deliberately left out: officers sign in from
# behind a few shared force gateways, so an address lock would lock out a whole station for one person's typos;
# the username lock holds however the attacker rotates addresses, agents or cookies.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# The name authenticator apps show for this system's entry (django-otp's TOTP plugin).
OTP_TOTP_ISSUER = "LFR governance"

from .policy import *  # noqa: E402,F401,F403  (inclusion categories, limits and retention: one place)
from .policy import LFR_BULK_IMPORT_MAX_BYTES  # noqa: E402

# The middleware caps each request by path, so the memory handler must hold the largest allowed.
FILE_UPLOAD_MAX_MEMORY_SIZE = max(LFR_MAX_UPLOAD_BYTES, LFR_BULK_IMPORT_MAX_BYTES)

# Deployment maps: Leaflet is served from static/vendor; only map tiles come from this tile server.
LFR_MAP_TILE_URL = env("LFR_MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
LFR_MAP_ATTRIBUTION = env(
    "LFR_MAP_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

# Content-Security-Policy (django-csp 4): scripts and style sheets from this site only, never inline. Data reaches
# scripts through json_script or data- attributes; templates hold no <script> without src, no <style> and no
# style="" (tests/foundation/test_csp.py). Images may also come from the map tile server's origin.
_tiles = urlsplit(LFR_MAP_TILE_URL)
_tile_host = _tiles.netloc.split(".", 1)
if "{" in _tile_host[0]:  # a subdomain placeholder such as {s}.tile.example.org
    _tile_host[0] = "*"
LFR_MAP_TILE_ORIGIN = f"{_tiles.scheme}://{'.'.join(_tile_host)}" if _tiles.scheme and _tiles.netloc else None
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *([LFR_MAP_TILE_ORIGIN] if LFR_MAP_TILE_ORIGIN else [])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Added to the policy for one view (by URL name) in lfr_governance.middleware.ContentSecurityPolicyMiddleware.
# ReDoc (the API docs) sets styles from its script (styled-components) and runs its search in a worker from blob:.
LFR_CSP_VIEW_UPDATES = {
    "api-docs": {"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]},
}

# Matching pipeline. A message whose worker died before acknowledging it is redelivered after the
# visibility timeout (the Redis transport's restore sweep runs every interval x throttle seconds).
# Frames are processed in well under a second; other tasks (bulk imports) may run for minutes, so the
# default stays long. Tests and a frames-only worker may lower it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL_SECONDS", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
if LFR_WORKER_ROLE == "frames":
    # Frames take well under a second: a message unacknowledged for 15 s belongs to a dead worker. The frames
    # workers keep their unacknowledged messages apart (their own keys), so this short timeout never redelivers
    # a long task (a bulk import) of the other worker, and sweep every 2 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("LFR_FRAMES_VISIBILITY_TIMEOUT_SECONDS", default=15),
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
        "unacked_key": "lfr:frames:unacked",
        "unacked_index_key": "lfr:frames:unacked_index",
        "unacked_mutex_key": "lfr:frames:unacked_mutex",
        "unacked_mutex_expire": 30,
    }
    # No health-check query (SELECT 1) before each frame's first statement: the frame path retries a statement that
    # fails on a broken connection on a new one (matching.pipeline._database_waited), so the check would only cost
    # a round trip per frame. A connection in error or past CONN_MAX_AGE is still closed between tasks.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
# How often the operator console asks for new alerts.
LFR_CONSOLE_POLL_MILLISECONDS = env.int("LFR_CONSOLE_POLL_MILLISECONDS", default=800)
# Celery closes the database connection around every task unless told to reuse it; a new PostgreSQL
# connection per frame costs more than matching a face. Tasks that need a healthy connection call
# django.db.close_old_connections() first (CONN_HEALTH_CHECKS then tests it once per task).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
