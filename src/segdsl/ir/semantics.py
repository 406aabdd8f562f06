"""The one definition of each semantic rule that the backends share.

The SQL builder, both in-memory evaluators, the profile derivation and the engines'
storage encodings import their rules from here, so each meaning is written once:

- the as-of instant and UTC calendar days (``parse_as_of``, ``as_of_date``, ``day_start``);
- comparison operators (``FLIP``, ``NEGATE``);
- decimals stored as whole units of their last place, and the exact integer bounds that
  compare them with decimal constants (``scaled``, ``integer_comparison``).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fractions import Fraction

# ---- exact decimals: whole numbers of their last decimal place (cents for a scale of 2) in
# memory and on SQLite. ``x op c`` for such an integer ``x`` and any exact rational ``c`` is an
# integer bound (``x >= 0.125`` on cents is ``n >= 13``), or a constant when no integer can equal ``c``.


def scaled(value: int | Decimal, scale: int) -> Fraction:
    """``value`` in units of 10**-scale, exactly."""
    import fractions  # only decimals on SQLite and in memory need it

    return fractions.Fraction(value) * 10**scale


def integer_comparison(op: str, c: Fraction) -> tuple[str, int] | bool:
    """``x op c`` for integer x as ``(op', k)`` meaning ``x op' k``, or the constant truth
    value it has for every (non-null) x."""
    match op:
        case ">=":
            return (">=", math.ceil(c))
        case ">":
            return (">=", math.floor(c) + 1)
        case "<=":
            return ("<=", math.floor(c))
        case "<":
            return ("<", math.ceil(c))
        case "=":
            return ("=", c.numerator) if c.denominator == 1 else False
        case "!=":
            return ("!=", c.numerator) if c.denominator == 1 else True
    raise ValueError(f"unknown comparison {op!r}")



# ---- the as-of instant: one per evaluation, always in UTC. Every relative-time predicate
# compares calendar dates in UTC, so DST and the server's time zone never change an answer.



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


# ---- comparison operators

#: ``a op b`` ⇔ ``b FLIP[op] a``.
FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
#: ``not (a op b)`` ⇔ ``a NEGATE[op] b`` for non-null a and b.
NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
