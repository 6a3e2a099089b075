"""The retention purge: deletes what is due, kind by kind, then media files no record references (left by a
transaction that rolled back); safe to run twice or at once."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction

from lfr_governance import clock
from lfr_governance.audit.models import Action, AuditEvent
from lfr_governance.audit.services import record as audit_record
from lfr_governance.files import media_is_referenced, media_unreferenced

from .kinds import data_kinds
from .models import PurgeRun, PurgeRunStatus

log = logging.getLogger(__name__)
_PURGE_LOCK_KEY = 0x1F7A_0E01


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_PURGE_LOCK_KEY])
        return cursor.fetchone()[0]


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_PURGE_LOCK_KEY])


def purge_run(now=None) -> PurgeRun | None:
    """One purge over every data kind; None when another run holds the lock (it does the work)."""
    if not _try_lock():
        return None
    try:
        now = now or clock.now()
        run = PurgeRun.objects.create(started_at=clock.now(), worker=socket.gethostname())
        deleted: dict[str, int] = {}
        errors: list[dict] = []
        for kind in data_kinds():
            if kind.due is None:
                continue
            deleted[kind.key] = 0
            for record in list(kind.due(now)):
                try:
                    with transaction.atomic():
                        kind.purge(record)
                    deleted[kind.key] += 1
                except Exception as exc:  # one bad record must not stop the rest; it is reported
                    log.exception("retention purge of %s %s failed", kind.key, record.pk)
                    errors.append({"kind": kind.key, "record": record.pk, "error": f"{exc.__class__.__name__}: {exc}"})
        deleted[ORPHAN_FILES] = orphan_files_purge(now, errors)
        run.finished_at = clock.now()
        run.deleted, run.errors = deleted, errors
        run.status = PurgeRunStatus.FAILED if errors else PurgeRunStatus.SUCCEEDED
        run.save()
        return run
    finally:
        _unlock()


# --- Files no record references ------------------------------------------------------------------

ORPHAN_FILES = "orphan_files"
ORPHAN_ERASE_EVENT = "retention.orphan_file_erase"


def _orphan_cutoff(now):
    return now - timedelta(minutes=settings.LFR_ORPHAN_FILE_GRACE_MINUTES)


def orphan_files_purge(now, errors: list[dict]) -> int:
    """Erases media files no row references, written longer ago than the grace period (younger ones may belong
    to a transaction still open). Each erasure is audited with the file's path, never its content."""
    erased = 0
    for file in media_unreferenced(written_before=_orphan_cutoff(now)):
        try:
            with transaction.atomic():
                if media_is_referenced(file.name):  # a row naming it committed since the list was made
                    continue
                audit_record(action=Action.ERASURE, event=ORPHAN_ERASE_EVENT, actor_label="retention purge job",
                             target_type="media.file", target_id=file.name[-64:],
                             changes={"path": file.name, "bytes": file.size, "written_at": file.modified.isoformat(),
                                      "reason": "referenced by no record"})
                default_storage.delete(file.name)  # if this fails, the audit row rolls back with it
            erased += 1
        except Exception as exc:  # one file must not stop the rest; it is reported
            log.exception("retention purge of orphan file %s failed", file.name)
            errors.append({"kind": ORPHAN_FILES, "record": file.name, "error": f"{exc.__class__.__name__}: {exc}"})
    return erased


def orphan_files_report(now=None) -> dict:
    """For the DPO report: files referenced by no record now, how many are past their grace period (the purge
    erases them), and how many it has erased."""
    now = now or clock.now()
    held = media_unreferenced()
    cutoff = _orphan_cutoff(now)
    overdue_before = cutoff - timedelta(minutes=settings.LFR_PURGE_GRACE_MINUTES)
    erased = AuditEvent.objects.filter(event=ORPHAN_ERASE_EVENT)
    return {
        "held": len(held),
        "past_grace": sum(1 for f in held if f.modified < cutoff),
        "overdue": sum(1 for f in held if f.modified < overdue_before),
        "deleted": erased.count(),
        "deleted_at": erased.order_by("-id").values_list("occurred_at", flat=True).first(),
        "grace_minutes": settings.LFR_ORPHAN_FILE_GRACE_MINUTES,
    }


def last_successful_purge() -> PurgeRun | None:
    return PurgeRun.objects.filter(status=PurgeRunStatus.SUCCEEDED).order_by("-finished_at").first()


def overdue_counts(now=None, grace_minutes: int | None = None) -> dict[str, int]:
    """Records past their period by more than the grace time (one purge interval, normally): should be zero."""
    now = now or clock.now()
    grace = timedelta(minutes=grace_minutes if grace_minutes is not None else settings.LFR_PURGE_GRACE_MINUTES)
    return {kind.key: len(list(kind.due(now - grace))) for kind in data_kinds() if kind.due is not None}
