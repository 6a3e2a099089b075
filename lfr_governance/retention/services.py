"""The retention purge: deletes what is due, kind by kind, safe to run twice or at once."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from lfr_governance import clock

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
        run.finished_at = clock.now()
        run.deleted, run.errors = deleted, errors
        run.status = PurgeRunStatus.FAILED if errors else PurgeRunStatus.SUCCEEDED
        run.save()
        return run
    finally:
        _unlock()


def last_successful_purge() -> PurgeRun | None:
    return PurgeRun.objects.filter(status=PurgeRunStatus.SUCCEEDED).order_by("-finished_at").first()


def overdue_counts(now=None, grace_minutes: int | None = None) -> dict[str, int]:
    """Records past their period by more than the grace time (one purge interval, normally): should be zero."""
    now = now or clock.now()
    grace = timedelta(minutes=grace_minutes if grace_minutes is not None else settings.LFR_PURGE_GRACE_MINUTES)
    return {kind.key: len(list(kind.due(now - grace))) for kind in data_kinds() if kind.due is not None}
