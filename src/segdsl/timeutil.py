"""The as-of instant: one per evaluation, always in UTC.

Every relative-time predicate compares calendar dates in UTC: ``days_since(f)`` is the
number of UTC midnights between the field's instant and the as-of instant, so DST and
the server's time zone never change an answer.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def parse_as_of(text: str) -> dt.datetime:
    """``now``, a date (``2026-01-31``, meaning its UTC midnight), or an ISO timestamp
    (a timestamp without an offset is UTC). Raises ValueError with a readable message."""
    text = text.strip()
    if text.lower() == "now":
        return now()
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"`{text}` is not a date or timestamp; use `now`, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z|+HH:MM]"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_of_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(UTC).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
