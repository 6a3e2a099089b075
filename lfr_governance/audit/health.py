"""/healthz's audit checkpoint check (registered from AuditConfig.ready()): the chain's head is signed on time.

Beat has a checkpoint signed every LFR_AUDIT_ANCHOR_INTERVAL_SECONDS, but only when rows were appended since the last
one (services.audit_checkpoint_create), so an idle system's newest checkpoint may be old and still be right. What
must not happen is a row left unsigned for long: the check fails when the oldest row after the newest checkpoint (or,
before any checkpoint, the oldest row of all: the system has then run that long) has waited more than
CHECKPOINT_MAX_AGE_INTERVALS intervals. Until then those rows are protected by the hash chain alone.
"""

from django.conf import settings

from lfr_governance import clock

from .models import AuditCheckpoint, AuditEvent

# Missed rounds tolerated before the check fails: one slow or skipped round (a long transaction holding the chain
# lock, a worker restart) is normal; three in a row is not.
CHECKPOINT_MAX_AGE_INTERVALS = 3
ADVICE = ("check that Celery beat and a worker are running (the audit-checkpoint task) and that the audit anchor key "
          "can be read; `manage.py audit_checkpoint` signs one now or says why it cannot, and `manage.py "
          "audit_verify` says whether the log still fits its checkpoints")


def checkpoint_max_age_seconds() -> int:
    return CHECKPOINT_MAX_AGE_INTERVALS * settings.LFR_AUDIT_ANCHOR_INTERVAL_SECONDS


def audit_checkpoint_check() -> dict:
    """{"ok": bool, ...}: whether every audit row older than the bound is covered by a signed checkpoint."""
    max_age = checkpoint_max_age_seconds()
    now = clock.now()
    newest = AuditCheckpoint.objects.order_by("-id").first()
    answer: dict = {"max_age_seconds": max_age}
    if newest is not None:
        answer["last_checkpoint_seconds_ago"] = max(0, round((now - newest.created_at).total_seconds()))
    oldest_unsigned = (AuditEvent.objects.filter(pk__gt=newest.last_event_id if newest else 0)
                       .order_by("id").values_list("occurred_at", flat=True).first())
    if oldest_unsigned is None:  # every row is signed, or there is none yet
        return {"ok": True, **answer}
    waited = max(0, round((now - oldest_unsigned).total_seconds()))
    answer["unsigned_for_seconds"] = waited
    if waited <= max_age:
        return {"ok": True, **answer}
    bound = f"more than {max_age} s, {CHECKPOINT_MAX_AGE_INTERVALS} checkpoint intervals"
    if newest is None:
        error = (f"no audit checkpoint has been signed, and the audit log has had rows for {waited} s ({bound}): "
                 f"{ADVICE}.")
    else:
        error = (f"the newest audit checkpoint is {answer['last_checkpoint_seconds_ago']} s old, and rows written "
                 f"since have waited {waited} s to be signed ({bound}): {ADVICE}.")
    return {"ok": False, "error": error, **answer}
