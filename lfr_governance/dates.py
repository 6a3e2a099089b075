"""The one rule for dates and times a person or an edge node gives: within LFR_EARLIEST_DATE (included) and
LFR_LATEST_DATE (excluded), from the policy. A year 323 or 2999 is a typing or clock error; it is refused with a
message that says which range is accepted, and the value itself is never echoed back in a strange zone.

Services call `date_range_problem` for each date they are given (they own the rules; forms and serializers
only parse), and put its message on the field.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def date_range_text() -> str:
    earliest, latest = settings.LFR_EARLIEST_DATE, settings.LFR_LATEST_DATE
    return f"between {earliest.day} {earliest:%B %Y} and {latest.day} {latest:%B %Y}"


def date_range_problem(value: date | datetime | None, *, noun: str = "The date") -> str:
    """The message when `value` is outside the accepted range, else ""."""
    if value is None:
        return ""
    day = _day(value)
    if settings.LFR_EARLIEST_DATE <= day < settings.LFR_LATEST_DATE:
        return ""
    return f"{noun} must be {date_range_text()}: check the year (it was {day.year})."
