"""The governance policy in one place: inclusion categories, watchlist limits, the enrolment quality gate,
who may authorise, justifications, retention and the edge limits.

Every value here can be changed by a force through the environment or by editing this file; the
application reads them only from here.
"""

from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# Closed list of inclusion categories (no free-text "other": R (Bridges) v CC South Wales Police).
# key -> (label, whether the entry must name an offence)
LFR_INCLUSION_CATEGORIES = {
    "warrant": ("Wanted by the courts (warrant)", False),
    "serious_offence": ("Suspected of a serious offence", True),
    "court_conditions": ("Subject to bail or court-order conditions the deployment can enforce", False),
    "missing_at_risk": ("Missing person at increased risk", False),
    "risk_of_harm": ("Person posing a risk of harm to themselves or others", False),
}
# Offences that a "serious offence" entry may name.
LFR_SERIOUS_OFFENCES = {
    "cse": "Child sexual exploitation",
    "firearms": "Firearms offences",
    "knife_crime": "Knife crime",
    "robbery": "Robbery",
    "serious_violence": "Serious violence",
    "terrorism": "Terrorism",
    "sexual_offences": "Serious sexual offences",
    "drugs_supply": "Supply of controlled drugs (class A)",
}
# South Wales Police capped watchlists at 2,000 images (R (Bridges), 2020); an application over the cap is refused.
LFR_WATCHLIST_MAX_ENTRIES = env.int("LFR_WATCHLIST_MAX_ENTRIES", default=2000)
LFR_WATCHLIST_IMAGE_MAX_BYTES = env.int("LFR_WATCHLIST_IMAGE_MAX_BYTES", default=8 * 1024 * 1024)
LFR_WATCHLIST_IMAGE_MAX_PIXELS = env.int("LFR_WATCHLIST_IMAGE_MAX_PIXELS", default=40_000_000)
LFR_BULK_IMPORT_MAX_BYTES = env.int("LFR_BULK_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
# The enrolment quality gate's limits, in the uploaded image's pixels. The detector score floor is on each
# detector's own scale, so it stays with its model pack (matching/engine/packs/<pack>.json, "quality").
LFR_QUALITY_GATE = {
    "min_face_size": 80.0,
    "min_inter_eye_distance": 30.0,
    "min_sharpness": 100.0,  # variance of the Laplacian of the aligned crop
    "max_yaw_ratio": 0.3,
    "max_roll_degrees": 25.0,
    # Several faces: the largest is the subject where its area is at least this many times the next largest (a
    # bystander behind the subject); otherwise the photo is refused as ambiguous.
    "dominant_face_area_ratio": 4.0,
}

# The dates and times a person or an edge node may give: anything outside is a typing or clock error (a year 323
# or 2999), refused with a message. From the first day, up to but not including the last (lfr_governance/dates.py).
LFR_EARLIEST_DATE = date.fromisoformat(env("LFR_EARLIEST_DATE", default="2000-01-01"))
LFR_LATEST_DATE = date.fromisoformat(env("LFR_LATEST_DATE", default="2100-01-01"))

# Consultation and disclosure (DPA 2018 s.62): the shortest justification a person may give.
LFR_JUSTIFICATION_MIN_CHARS = 10

# Audit log anchors (lfr_governance/audit/anchors.py): every interval, beat has the head of the audit chain signed
# (HMAC-SHA256) with a key the database never holds, stored in the checkpoint table and appended to JSON lines files
# outside the database. The key: LFR_AUDIT_ANCHOR_KEY (32 characters or more), else the key file, which is created
# (0600) on first use where LFR_AUDIT_ANCHOR_KEY_CREATE is true (development, tests; production requires a key).
_VAR_DIR = Path(__file__).resolve().parent.parent.parent / "var"
LFR_AUDIT_ANCHOR_INTERVAL_SECONDS = env.int("LFR_AUDIT_ANCHOR_INTERVAL_SECONDS", default=60)
LFR_AUDIT_ANCHOR_KEY = env("LFR_AUDIT_ANCHOR_KEY", default="")
LFR_AUDIT_ANCHOR_KEY_FILE = env("LFR_AUDIT_ANCHOR_KEY_FILE", default=str(_VAR_DIR / "audit-anchor.key"))
LFR_AUDIT_ANCHOR_KEY_CREATE = env.bool("LFR_AUDIT_ANCHOR_KEY_CREATE", default=True)
LFR_AUDIT_ANCHOR_DIR = env("LFR_AUDIT_ANCHOR_DIR", default=str(_VAR_DIR / "audit-anchors"))

# Retention (hours unless named otherwise). Non-match biometrics have no period: they are never stored.
LFR_RETENTION = {
    "alerts_days": env.int("LFR_RETENTION_ALERTS_DAYS", default=31),
    "watchlist_after_deployment_hours": env.int("LFR_RETENTION_WATCHLIST_HOURS", default=24),
}

# Deployments
# The lowest rank that may authorise a deployment (lfr_governance.accounts.choices.Rank).
LFR_AO_MIN_RANK = env("LFR_AO_MIN_RANK", default="superintendent")
LFR_DEPLOYMENT_MAX_HOURS = env.int("LFR_DEPLOYMENT_MAX_HOURS", default=12)
LFR_URGENT_CONFIRMATION_HOURS = env.int("LFR_URGENT_CONFIRMATION_HOURS", default=24)
# The threshold follows from the target: the force's most false alerts per passer-by (South Wales Police: no more
# than 1 in 1,000; the Home Office's 2025 trials: 0.1%), proposed per imaging condition from the pack's calibration
# for the watchlist's size (matching/engine/thresholds.py).
_TARGET = env.str("LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY", default="0.001")
try:
    LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY = float(_TARGET)
except ValueError:
    LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY = float("nan")
if not 0 < LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY < 1:  # also refuses NaN and infinity
    raise ImproperlyConfigured(
        f"LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY is {_TARGET!r}: give the target false alerts per passer-by as a "
        "fraction between 0 and 1 (both excluded), e.g. 0.001 for 1 in 1,000.")
# Looks at one face a passer-by gives, where one frame makes an alert (k = 1): each look is a chance of a false alert.
LFR_LOOKS_PER_PASSER_BY = env.int("LFR_LOOKS_PER_PASSER_BY", default=3)
if LFR_LOOKS_PER_PASSER_BY < 1:
    raise ImproperlyConfigured(
        f"LFR_LOOKS_PER_PASSER_BY is {LFR_LOOKS_PER_PASSER_BY}: give the looks per passer-by as a whole number of "
        "at least 1, e.g. 3.")
# How far an edge node's captured_at may be from the server's clock.
LFR_EDGE_MAX_CLOCK_SKEW_SECONDS = env.int("LFR_EDGE_MAX_CLOCK_SKEW_SECONDS", default=30)

# The purge job runs every LFR_PURGE_INTERVAL_SECONDS; a record more than LFR_PURGE_GRACE_MINUTES past its period
# counts as overdue, and /healthz turns red when the last successful purge is older than LFR_PURGE_MAX_AGE_MINUTES.
LFR_PURGE_INTERVAL_SECONDS = env.int("LFR_PURGE_INTERVAL_SECONDS", default=300)
LFR_PURGE_GRACE_MINUTES = env.int("LFR_PURGE_GRACE_MINUTES", default=15)
LFR_PURGE_MAX_AGE_MINUTES = env.int("LFR_PURGE_MAX_AGE_MINUTES", default=20)
# A media file no row references (left by a transaction that rolled back) is erased by the purge once it is older
# than this: a younger one may belong to a transaction still open (a bulk import runs in one).
LFR_ORPHAN_FILE_GRACE_MINUTES = env.int("LFR_ORPHAN_FILE_GRACE_MINUTES", default=60)

# Edge ingestion (matching): what an edge node may send, and how long a frame may wait in memory.
LFR_EDGE_MAX_FRAMES_PER_SECOND = env.int("LFR_EDGE_MAX_FRAMES_PER_SECOND", default=10)  # per node, frames + detections
LFR_EDGE_MAX_FRAME_BYTES = env.int("LFR_EDGE_MAX_FRAME_BYTES", default=4 * 1024 * 1024)
LFR_EDGE_MAX_FRAME_PIXELS = env.int("LFR_EDGE_MAX_FRAME_PIXELS", default=3840 * 2160)
LFR_EDGE_MAX_CROPS_PER_REQUEST = env.int("LFR_EDGE_MAX_CROPS_PER_REQUEST", default=32)
# A queued frame lives only in Redis (no persistence) under this TTL: a frame nobody processed in time
# is gone by itself. Must exceed the broker's visibility timeout for a redelivered frame to be processed.
LFR_FRAME_PAYLOAD_TTL_SECONDS = env.int("LFR_FRAME_PAYLOAD_TTL_SECONDS", default=60)
# Admission: a frame that would wait longer than this in its camera's queue before a worker reaches it (the frames
# waiting there times the worker's recent seconds per frame) is refused with 503 `busy` and Retry-After, and nothing
# is kept; the node drops its oldest frames first. At most half the TTL, so the estimate can be wrong by a factor of
# two (a crowd arriving, a slower frame) and an accepted frame is still matched well inside its TTL. At saturation a
# frame waits about this long, so it is also how late an alert may come: 3 s keeps the worker busy (dozens of frames
# queued) while the officer on the ground is told while the person is still in view; 10 s measured the same
# throughput with alerts 8-9 s late.
def _seconds(name: str, default: str, low: float, high: float, what: str) -> float:
    """A number of seconds from the environment, above `low` and at most `high`; anything else (NaN, infinity,
    text) stops the settings with what to give instead."""
    text = env.str(name, default=default)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low < value <= high:  # also refuses NaN
        raise ImproperlyConfigured(f"{name} is {text!r}: give {what}.")
    return value


LFR_EDGE_MAX_QUEUE_WAIT_SECONDS = _seconds(
    "LFR_EDGE_MAX_QUEUE_WAIT_SECONDS", "3", 0, LFR_FRAME_PAYLOAD_TTL_SECONDS / 2,
    f"a number of seconds above 0 and at most half of LFR_FRAME_PAYLOAD_TTL_SECONDS "
    f"({LFR_FRAME_PAYLOAD_TTL_SECONDS / 2:g}), e.g. 3")
# The seconds per frame assumed for a queue whose worker has not yet reported its speed (just started, or its
# report lapsed): on the slow side, so a cold start accepts a few frames (3 s / 1 s) until the worker's first
# frame says how fast it is.
LFR_EDGE_ASSUMED_SECONDS_PER_FRAME = _seconds(
    "LFR_EDGE_ASSUMED_SECONDS_PER_FRAME", "1.0", 0, 10,
    "the seconds one frame takes a worker, above 0 and at most 10, e.g. 1")
# An accepted frame that expired before a worker reached it turns /healthz red for this long after the last one.
LFR_FRAMES_EXPIRED_ALERT_SECONDS = env.int("LFR_FRAMES_EXPIRED_ALERT_SECONDS", default=900)
# Passers-by (matching/engine/tracking.py): a camera's faces are joined into tracks; a track ends when its face has
# not been seen for this long in frame time, and its state (biometric: the best template) is deleted then.
LFR_TRACK_GAP_SECONDS = env.float("LFR_TRACK_GAP_SECONDS", default=1.5)
# A confirmed or ruled-out track's face is embedded again every this many faces (or when its quality improves).
LFR_TRACK_REEMBED_EVERY = env.int("LFR_TRACK_REEMBED_EVERY", default=5)
# The same watchlist entry confirmed again on the same camera within this long of its alert's last sighting joins
# that alert (one prompt per person) instead of making a new one.
LFR_ALERT_MERGE_SECONDS = env.int("LFR_ALERT_MERGE_SECONDS", default=60)
# How long a frame id is remembered per node to answer repeats as duplicates.
LFR_EDGE_FRAME_ID_TTL_SECONDS = env.int("LFR_EDGE_FRAME_ID_TTL_SECONDS", default=600)

# Sign-in lockout (django-axes): this many failed sign-ins for one username lock it for the cool-off, whatever
# address they come from; every further attempt while locked starts the cool-off again.
AXES_FAILURE_LIMIT = env.int("LFR_SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LFR_SIGN_IN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "lfr_governance.accounts.views.locked_out"

# Sessions: signed out after this long without a request, and this long after sign-in whatever the activity.
SESSION_COOKIE_AGE = env.int("LFR_SESSION_IDLE_SECONDS", default=30 * 60)
LFR_SESSION_MAX_AGE_SECONDS = env.int("LFR_SESSION_MAX_AGE_SECONDS", default=12 * 60 * 60)
