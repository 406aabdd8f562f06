"""The one definition of each semantic rule that the backends share.

The SQL builder, both in-memory evaluators, the profile derivation and the engines'
storage encodings import their rules from here, so each meaning is written once:

- the as-of instant and UTC calendar days (``parse_as_of``, ``as_of_date``, ``day_start``);
- day windows: which UTC days satisfy ``date(field) op day``, clipped to the years
  1..9999 (``DAY_WINDOWS``, ``day_ordinal``, ``day_windows``, ``day_bound``);
- comparison operators (``COMPARE``, ``FLIP``, ``NEGATE``);
- ASCII case folding (``ASCII_UPPER``, ``ASCII_LOWER``, ``ASCII_FOLD``, ``fold_ascii``);
- exact numbers: 64-bit integer bounds, decimals stored as whole units of their last
  place, and the exact integer bounds that compare them with decimal constants
  (``INT64_MIN``, ``INT64_MAX``, ``scale_decimal``, ``unscale``, ``scaled``,
  ``integer_comparison``);
- ``latest``: which row wins, and where NULL ranks (``latest_rank``);
- event sequences: the window of ``within N days`` as exact seconds, and which entities
  ``A [not] followed by B`` holds for (``window_seconds``, ``sequence_holds``);
- timestamps as text: fixed-width UTC text whose order is time order (``timestamp_text``),
  and the calendar of instants every engine stores (``utc_instant``).
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from decimal import Decimal
from collections.abc import Iterable
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from fractions import Fraction

    from segdsl.ir.nodes import Aggregate, Day

# ---- comparison operators

#: The comparison operators as rules write them, and what each means for two non-null
#: values of one kind (compared in their exact encodings: see below). Every backend keys
#: its own constructor for an operator by this table.
COMPARE: dict[str, Callable[[object, object], object]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
#: ``a op b`` ⇔ ``b FLIP[op] a``.
FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
#: ``not (a op b)`` ⇔ ``a NEGATE[op] b`` for non-null a and b.
NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


# ---- ASCII case folding: `ignoring case` maps the 26 ASCII letters A-Z to a-z on both
# sides and nothing else, so every engine folds alike (Unicode folding differs between
# engines and versions). One letter maps to one letter: folding keeps lengths and
# commutes with taking a prefix or suffix.

ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
#: The folding as a ``str.translate`` table.
ASCII_FOLD = str.maketrans(ASCII_UPPER, ASCII_LOWER)


def fold_ascii(text: str) -> str:
    """``text`` with A-Z folded to a-z. On ASCII text this is ``str.lower`` (much faster
    than ``translate``); ``lower`` would also fold non-ASCII letters, so those go
    through the table."""
    return text.lower() if text.isascii() else text.translate(ASCII_FOLD)


# ---- exact numbers. Integers are 64-bit on every engine. Decimals are exact: stored in
# memory (and on SQLite) as whole numbers of their last decimal place (cents for a scale
# of 2). ``x op c`` for such an integer ``x`` and any exact rational ``c`` is an integer
# bound (``x >= 0.125`` on cents is ``n >= 13``), or a constant when no integer can equal ``c``.

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def scale_decimal(value: Decimal | int, scale: int) -> int:
    """A finite ``value`` in whole units of 10**-scale. Extra places round half away
    from zero, as Postgres numeric does (0.125 at scale 2 is 13, not 12); computed on
    the digits, so no context precision ever rounds a long value."""
    if not isinstance(value, Decimal):
        return int(value) * 10**scale
    sign, digits, exp = value.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = -(exp + scale)  # type: ignore[operator]
    if shift <= 0:
        whole = n * 10**-shift
    elif shift > len(digits) + 1:
        whole = 0  # far below half a unit of the last place
    else:
        whole, rest = divmod(n, 10**shift)
        whole += 2 * rest >= 10**shift
    return -whole if sign else whole


def unscale(whole: int, scale: int) -> Decimal:
    """The decimal that ``whole`` units of 10**-scale stand for, with exactly ``scale``
    places (1234.50, not 1234.5)."""
    # From text, which is exact and several times faster than from a tuple of digits.
    return Decimal(f"{whole}e-{scale}")


def scaled(value: int | Decimal, scale: int) -> Fraction:
    """``value`` in units of 10**-scale, exactly (a constant compared with a scaled column)."""
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


def decimal_bound(op: str, value: Decimal | int, scale: int) -> tuple[str, Decimal] | bool:
    """``x op value`` for a decimal ``x`` with ``scale`` places, as ``x op' bound`` with a
    bound of exactly ``scale`` places (``> 14.99999999999999999`` at scale 1 is
    ``>= 15.0``), or the constant truth value it has for every non-null ``x``. Exact: a
    literal with more places than the field has is compared as the field's values are."""
    found = integer_comparison(op, scaled(value, scale))
    if isinstance(found, bool):
        return found
    op2, whole = found
    return op2, unscale(whole, scale)


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
    try:
        return utc_instant(value)
    except ValueError:
        # An offset can carry a date at the calendar's edge past it (0001-01-01 at +01:00).
        raise ValueError(f"`{text}` is outside the years 0001-9999 once in UTC; use an instant within them") \
            from None


def as_of_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(UTC).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


# ---- day windows. ``date(field) op day`` (a timestamp's date taken in UTC) holds on a set
# of whole days: half-open windows [lo, hi) of day ordinals. Only the years 1..9999 exist
# (Python's calendar, and the range every engine stores), so a bound every such day
# passes is dropped, and a window none of them lies in is empty.

Window = tuple["int | None", "int | None"]  # [lo, hi) in day ordinals; None is unbounded

MIN_ORDINAL = dt.date.min.toordinal()  # 0001-01-01
MAX_ORDINAL = dt.date.max.toordinal()  # 9999-12-31

#: ``date(x) op n`` ⇔ the day of ``x`` lies in one of the windows [n + lo, n + hi).
DAY_WINDOWS: dict[str, tuple[Window, ...]] = {
    ">=": ((0, None),),
    ">": ((1, None),),
    "<=": ((None, 1),),
    "<": ((None, 0),),
    "=": ((0, 1),),
    "!=": ((None, 0), (1, None)),
}
#: ``day_windows`` of a comparison no day passes, and of one every day passes.
NO_DAY: tuple[Window, ...] = ()
EVERY_DAY: tuple[Window, ...] = ((None, None),)


def day_ordinal(day: Day, as_of_day: dt.date | None) -> int | None:
    """The ordinal of ``day``: a fixed date's, or the as-of date's plus the offset (which
    may leave the calendar); None for a relative day without a pinned as-of (the
    database clock decides)."""
    if day.date is not None:
        return day.date.toordinal()
    if as_of_day is None:
        return None
    return as_of_day.toordinal() + (day.offset or 0)


def day_windows(op: str, n: int) -> tuple[Window, ...]:
    """The days where ``date(x) op n`` is TRUE, as windows clipped to the calendar:
    ``NO_DAY`` when no day of the years 1..9999 passes, ``EVERY_DAY`` when every one does.
    An ``n`` outside the calendar always gives one of these two."""
    out = []
    for lo, hi in DAY_WINDOWS[op]:
        lo = None if lo is None else n + lo
        hi = None if hi is None else n + hi
        if lo is not None and lo <= MIN_ORDINAL:
            lo = None  # every day is >= lo
        if hi is not None and hi > MAX_ORDINAL:
            hi = None  # every day is < hi
        if (lo is not None and lo > MAX_ORDINAL) or (hi is not None and hi <= MIN_ORDINAL):
            continue  # no day lies in the window
        out.append((lo, hi))
    return tuple(out)


def day_bound(ordinal: int, timestamp: bool) -> dt.date | dt.datetime:
    """A window's bound as a value of the field: the date, or (for a timestamp) the
    first instant of that day in UTC."""
    d = dt.date.fromordinal(ordinal)
    return day_start(d) if timestamp else d


# ---- event sequences. `A followed by B within N` measures its window in exact seconds
# from each A event's instant: N days are N x 86,400 s and N weeks N x 604,800 s (hours,
# where a duration has them, 3,600 s), never calendar days, so DST, month ends and the
# session's time zone change nothing. (Day windows such as `f within 30 days` count whole
# UTC dates instead; see docs/language.md.)

#: Seconds in one unit of a sequence's window, by the duration's (plural) unit.
UNIT_SECONDS = {"hours": 3_600, "days": 86_400, "weeks": 604_800}


def window_seconds(amount: int, unit: str) -> int:
    """The length of ``within amount unit`` in seconds."""
    return amount * UNIT_SECONDS[unit]


def sequence_holds(first: Iterable[dt.datetime | None], then: Iterable[dt.datetime | None], seconds: int,
                   negated: bool, as_of: dt.datetime) -> bool:
    """The definition every backend implements, over one entity's event instants (NULL
    instants never count). ``followed by``: some A at tA and some B at tB with tA < tB
    <= tA + seconds, both <= as_of. ``not followed by``: some A whose window has closed
    (tA + seconds <= as_of) with no B in (tA, tA + seconds]. Never unknown."""
    window = dt.timedelta(seconds=seconds)
    a_times = sorted(t for t in first if t is not None and t <= as_of)
    b_times = sorted(t for t in then if t is not None and t <= as_of)
    for ta in a_times:
        # tA + window may pass the calendar's end: every instant is before it then.
        end = ta + window if ta <= dt.datetime.max.replace(tzinfo=UTC) - window else None
        if negated and (end is None or end > as_of):
            continue
        hit = any(ta < tb and (end is None or tb <= end) for tb in b_times)
        if hit != negated:
            return True
    return False


# ---- latest(column by by): among an entity's source rows (where the trait's rule is TRUE)
# whose `by` is not NULL, the row ranked first by these columns, each greatest first.
# NULL never ranks: a row with a NULL `by` takes no part, so no engine's NULLS FIRST/LAST
# default matters (ids are keys, never NULL).


def latest_rank(agg: Aggregate) -> tuple[str, str]:
    """The columns ranking rows for ``latest``, most significant first, each greatest
    first: ``by``, then the row id (a tie on ``by`` goes to the greatest id). Text ids
    compare by code point (Python's order), whatever a database's collation says."""
    return (agg.by.column, agg.id_column)


# ---- timestamps as text, and the calendar every engine stores


def utc_instant(instant: dt.datetime) -> dt.datetime:
    """``instant`` in UTC; ValueError if it has no offset or falls outside the years
    1-9999 once in UTC (the calendar every engine and the evaluators share)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} is not a timezone-aware timestamp")
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{instant.isoformat()} is outside the years 1-9999 in UTC") from None


def timestamp_text(instant: dt.datetime, sep: str = " ", suffix: str = "") -> str:
    """``instant`` as fixed-width UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (years
    zero-padded to four digits, which ``strftime('%Y')`` does not do), so that text order
    is time order: how SQLite stores and compares timestamps (``sep`` and ``suffix`` give
    the state store's ``...T...Z``)."""
    return utc_instant(instant).replace(tzinfo=None).isoformat(sep=sep, timespec="microseconds") + suffix
