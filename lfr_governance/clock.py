"""The application's one clock: everything that needs "now" asks `clock.now()`.

The demo replays a past day through the real services with `clock.set_to(moment)`, which moves the
time for the current context only (a context variable: this thread or task, nothing else in the
process). The tests' `clock` fixture moves it for the whole test process with `clock.freeze(...)`, so a
live test server's threads see the same time. Model timestamps follow it too (`ClockDateTimeField`).
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import date, datetime
from typing import Iterator

from django.db import models
from django.utils import timezone

_context_moment: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("lfr_clock_moment", default=None)
_process_moment: datetime | None = None


def now() -> datetime:
    """The current time (aware, UTC), or the moment the clock was set to."""
    moment = _context_moment.get()
    if moment is None:
        moment = _process_moment
    return moment if moment is not None else timezone.now()


def localdate() -> date:
    """Today in Europe/London (the configured time zone) by this clock."""
    return timezone.localdate(now())


def localtime() -> datetime:
    return timezone.localtime(now())


def _aware(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("The clock takes an aware datetime.")
    return moment


@contextmanager
def set_to(moment: datetime) -> Iterator[None]:
    """Within the block, this context's clock reads `moment` (move it again with `set_to` or `advance`)."""
    token = _context_moment.set(_aware(moment))
    try:
        yield
    finally:
        _context_moment.reset(token)


def move_to(moment: datetime) -> None:
    """Inside `set_to`: set this context's clock to another moment."""
    if _context_moment.get() is None:
        raise RuntimeError("clock.move_to is only for use inside clock.set_to(...).")
    _context_moment.set(_aware(moment))


def freeze(moment: datetime | None) -> None:
    """Set (or with None, release) the clock for every thread of the process: for tests only."""
    global _process_moment
    _process_moment = None if moment is None else _aware(moment)


class ClockDateTimeField(models.DateTimeField):
    """A DateTimeField whose auto_now / auto_now_add read this clock; migrates as a plain DateTimeField."""

    def pre_save(self, model_instance, add):
        if self.auto_now or (self.auto_now_add and add):
            value = now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
