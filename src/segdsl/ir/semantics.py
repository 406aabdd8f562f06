"""The one definition of each semantic rule that the backends share.

The SQL builder, both in-memory evaluators, the profile derivation and the engines'
storage encodings import their rules from here, so each meaning is written once:

- the as-of instant and UTC calendar days (``parse_as_of``, ``as_of_date``, ``day_of``, ``day_start``);
- day windows: which UTC days satisfy ``date(field) op day``, clipped to the years
  1..9999 (``DAY_WINDOWS``, ``day_ordinal``, ``day_windows``, ``day_bound``);
- hour windows: instants a whole number of hours before the as-of (``hours_before``,
  ``instant_comparison``);
- comparison operators (``COMPARE``, ``FLIP``, ``NEGATE``), and two numbers stored as
  whole units of different places compared exactly (``fixed_point_comparison``);
- ASCII case folding (``ASCII_UPPER``, ``ASCII_LOWER``, ``ASCII_FOLD``, ``fold_ascii``);
- exact numbers: 64-bit integer bounds, decimals stored as whole units of their last
  place, and the exact integer bounds that compare them with decimal constants
  (``INT64_MIN``, ``INT64_MAX``, ``scale_decimal``, ``unscale``, ``scaled``,
  ``integer_comparison``);
- ``latest``: which row wins, and where NULL ranks (``latest_rank``);
- ranking: who is in ``top P%`` and ``top N`` of a population, and the cut-off
  (``percent_ratio``, ``in_percent``, ``cutoff_index``, ``rank_cutoff``, ``Cutoff``);
- event sequences: the window of ``within N days`` as exact seconds, and which entities
  ``A [not] followed by B`` holds for (``window_seconds``, ``sequence_holds``);
- timestamps as text: fixed-width UTC text whose order is time order (``timestamp_text``),
  and the calendar of instants every engine stores (``utc_instant``); instants as
  microseconds after the epoch, and UTC days as whole days after it (``epoch_micros``,
  ``epoch_day``, ``from_epoch_micros``, ``HOUR_MICROS``, ``DAY_MICROS``);
- deterministic buckets for splits and holdouts: an entity's bucket under a salt, and
  the bucket ranges that shares take (``BUCKETS``, ``key_text``, ``bucket_hash``,
  ``bucket``, ``share_buckets``, ``bucket_ranges``).
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from decimal import Decimal
from collections.abc import Iterable
from typing import TYPE_CHECKING, Callable

import attrs

if TYPE_CHECKING:
    from fractions import Fraction

    from segdsl.ir.nodes import Aggregate, Day, Rank

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


def day_of(value: dt.date | dt.datetime) -> dt.date:
    """The UTC calendar date of a date (itself) or of an instant."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).date()
    return value


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


# ---- hour windows. ``within N hours``, ``before N hours ago`` and ``after N hours ago``
# compare a timestamp with an exact instant: the as-of minus N × 3600 seconds (no calendar,
# no time zone). An instant before the calendar's first (0001-01-01T00:00:00Z) makes the
# comparison a constant for every non-null value, as a day window's bound past the
# calendar does; the as-of itself always lies in the calendar.

SECONDS_PER_HOUR = 3600


def hours_before(as_of: dt.datetime, hours: int) -> dt.datetime | None:
    """The instant ``hours`` × 3600 s before ``as_of`` (in UTC), or None when it falls
    before the first instant of the year 1."""
    try:
        return utc_instant(as_of) - dt.timedelta(seconds=hours * SECONDS_PER_HOUR)
    except OverflowError:
        return None


def instant_comparison(op: str, bound: dt.datetime | None) -> tuple[str, dt.datetime] | bool:
    """``x op bound`` for a timestamp ``x``: ``(op, bound)``, or, for a bound before the
    calendar (None), the constant truth value it has for every non-null ``x``: every
    instant is after it."""
    if bound is not None:
        return (op, bound)
    return op in (">", ">=", "!=")


# ---- two exact numbers stored as whole units of their last place, at different scales:
# ``x / 10**sx op y / 10**sy``. Multiplying the coarser side up could overflow 64 bits,
# so the finer side is divided instead: with m = 10**|sx - sy| and the coarser value a,
# ``a op b / m`` holds exactly when ``a`` compares with floor(b / m) or ceil(b / m) as
# below (ceil = floor + 1 unless m divides b). Each part is one comparison of a and a
# rounded b, so NULL on either side stays unknown and ``not`` keeps its meaning.

#: ``a op b / m`` ⇔ every ``(op', rounding)`` of the entry holds (``=``), or any of them
#: (``!=``): ``a op' floor(b / m)`` or ``a op' ceil(b / m)``.
FIXED_POINT: dict[str, tuple[tuple[str, str], ...]] = {
    ">=": ((">=", "ceil"),),
    ">": ((">", "floor"),),
    "<=": (("<=", "floor"),),
    "<": (("<", "ceil"),),
    "=": ((">=", "ceil"), ("<=", "floor")),
    "!=": (("<", "ceil"), (">", "floor")),
}


def fixed_point_comparison(op: str, left_scale: int, right_scale: int) -> tuple[bool, int, str]:
    """How ``x / 10**left_scale op y / 10**right_scale`` is compared exactly:
    ``(swapped, m, op')`` meaning ``a op' b / m`` (see ``FIXED_POINT``) with ``(a, b)``
    = ``(x, y)``, or ``(y, x)`` when ``swapped`` (then ``op'`` is flipped)."""
    if left_scale <= right_scale:
        return False, 10 ** (right_scale - left_scale), op
    return True, 10 ** (left_scale - right_scale), FLIP[op]


# ---- event sequences. `A followed by B within N` measures its window in exact seconds
# from each A event's instant: N days are N x 86,400 s and N weeks N x 604,800 s (hours,
# where a duration has them, 3,600 s), never calendar days, so DST, month ends and the
# session's time zone change nothing. (Day windows such as `f within 30 days` count whole
# UTC dates instead; see docs/language.md.)

#: Seconds in one unit of a sequence's window, by the duration's (plural) unit.
UNIT_SECONDS = {"hours": SECONDS_PER_HOUR, "days": 24 * SECONDS_PER_HOUR, "weeks": 7 * 24 * SECONDS_PER_HOUR}


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


# ---- ranking: `field in top P%` and `top N by field`, among a population.
# Only the population's entities whose value is not NULL are ranked (engines disagree on
# where NULL sorts, so it never sorts). Best first: the greatest value, or for
# `days_since(f)` the earliest UTC date of f (the most days since).
# - Percentile: an entity's rank is 1 + the number of ranked values strictly better
#   than its own (SQL's RANK), N the number of ranked entities; it is in the top P%
#   when 100 * (rank - 1) < P * N, in exact integers. Ties share a rank, so a tie at
#   the cut-off is all in; the best value is always in (0 < P).
# - Top N: the first N in the order best value first, then the smallest key (text keys
#   by code point, as Python orders str): SQL's ROW_NUMBER over that order, <= N.
# A population member whose value is NULL is unknown; an entity outside it is FALSE.
# Membership is a cut-off: percentile members are the values at least as good as the
# cut-off value; top-N members are the (value, key) pairs at least as good as the
# cut-off pair. `plan` and `size` print the cut-off.

#: Ties at the top-N cut-off go to the smallest key (code-point order for text).
TOP_KEY_ASCENDING = True


def percent_ratio(percent: Decimal) -> tuple[int, int]:
    """P% as the reduced fraction a/b (10% is 1/10): the percentile test is
    ``b * (rank - 1) < a * N``, exact in integers on every engine."""
    import fractions

    f = fractions.Fraction(percent) / 100
    return f.numerator, f.denominator


def in_percent(rank: int, n: int, ratio: tuple[int, int]) -> bool:
    """Whether rank ``rank`` (1 = best) of ``n`` ranked values is in the top P%:
    100 * (rank - 1) < P * n."""
    a, b = ratio
    return b * (rank - 1) < a * n


def cutoff_index(n: int, percent: Decimal | None, limit: int | None) -> int | None:
    """The 0-based position, in best-first order, of the cut-off among ``n`` ranked
    values: the last position the top P% (``in_percent`` of a value at that position
    with every better value distinct) or the top N reaches; None when nothing is ranked.
    For a percentile, the value at this position is the worst value still in: a value at
    least as good has a rank <= position + 1, a worse one a rank >= position + 2."""
    if n == 0:
        return None
    if limit is not None:
        return min(limit, n) - 1
    a, b = percent_ratio(percent)
    # The greatest m with b * m < a * n: m = ceil(a * n / b) - 1, and at most n - 1.
    return min(n, -(-a * n // b)) - 1


@attrs.frozen
class Cutoff:
    """Where a ranking was cut at an as-of: the worst ``value`` still in (and for top N
    the ``key`` that won the tie at it), that value's ``rank`` (1 + the number of
    strictly better values), ``n`` ranked values, and how many ``members`` made it."""

    value: object
    key: object
    rank: int
    n: int
    members: int


def rank_better(days: bool) -> Callable[[object, object], bool]:
    """``better(x, y)``: whether value x ranks strictly before value y."""
    return operator.lt if days else operator.gt


def rank_cutoff(pairs: list[tuple[object, object]], rank: Rank) -> Cutoff | None:
    """The cut-off of ``rank`` over the population's ranked ``(value, key)`` pairs (values
    not NULL, each key once): the reference the evaluators and ``plan`` share."""
    m = cutoff_index(len(pairs), rank.percent, rank.limit)
    if m is None:
        return None
    by_key = sorted(pairs, key=operator.itemgetter(1), reverse=not TOP_KEY_ASCENDING)
    order = sorted(by_key, key=operator.itemgetter(0), reverse=not rank.days)  # stable: ties keep key order
    value, key = order[m]
    better = rank_better(rank.days)
    position = sum(1 for v, _ in pairs if better(v, value))
    members = m + 1 if rank.limit is not None else sum(1 for v, _ in pairs if not better(value, v))
    return Cutoff(value, key if rank.limit is not None else None, position + 1, len(pairs), members)


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


#: The epoch, and the microseconds of an hour and of a day: instants as whole
#: microseconds after the epoch (Spark's TIMESTAMP_MICROS and UNIX_MICROS), whose UTC
#: day is their floor division by ``DAY_MICROS``.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
HOUR_MICROS = 3_600_000_000
DAY_MICROS = 24 * HOUR_MICROS


def epoch_micros(instant: dt.datetime) -> int:
    """``instant`` as whole microseconds after the epoch (negative before it), exactly."""
    delta = utc_instant(instant) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_day(day: dt.date) -> int:
    """``day`` as whole days after 1970-01-01 (negative before it)."""
    return (day - EPOCH.date()).days


def from_epoch_micros(micros: int) -> dt.datetime:
    """The instant ``micros`` microseconds after the epoch, in UTC."""
    return EPOCH + dt.timedelta(microseconds=micros)


def timestamp_text(instant: dt.datetime, sep: str = " ", suffix: str = "") -> str:
    """``instant`` as fixed-width UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (years
    zero-padded to four digits, which ``strftime('%Y')`` does not do), so that text order
    is time order: how SQLite stores and compares timestamps (``sep`` and ``suffix`` give
    the state store's ``...T...Z``)."""
    return utc_instant(instant).replace(tzinfo=None).isoformat(sep=sep, timespec="microseconds") + suffix


# ---- deterministic buckets (splits and holdouts). An entity's bucket under a salt is
#
#     int(first 15 hex digits of SHA-256(UTF-8(salt + ":" + key_text(key))), 16) mod 10,000
#
# identical in Python and on every engine: 15 hex digits are 60 bits, so the integer
# fits a signed 64-bit column and no engine passes it through a float. Keys are never
# NULL, so a bucket always exists and `in split` / `in holdout` are never unknown.

#: How many buckets a salt spreads the entities over: a share is a whole number of
#: buckets, so it has at most two decimals (33.33% is 3,333 buckets).
BUCKETS = 10_000
#: Hex digits of the SHA-256 digest read as the bucket's integer.
BUCKET_HEX_DIGITS = 15
#: The SQL function segdsl registers on every SQLite connection it opens (SQLite has no
#: SHA-256): ``segdsl_bucket_hash(text)`` is :func:`bucket_hash` of the text.
BUCKET_HASH_FUNCTION = "segdsl_bucket_hash"


def key_text(key: int | str) -> str:
    """An entity key as the text the bucket hashes: an integer in decimal (``-42``, no
    sign for positives, no leading zeros), a text key exactly as stored, every
    character kept (case, trailing spaces), encoded as UTF-8."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"an entity key is an int or a str, not {type(key).__name__}")
    return str(int(key))


def bucket_hash(text: str | None) -> int | None:
    """The first 15 hex digits of SHA-256 of ``text``'s UTF-8 bytes, as an integer
    (NULL for NULL: SQLite calls it through SQL)."""
    if text is None:
        return None
    import hashlib  # ~10 ms (OpenSSL): only rules with splits or holdouts need it

    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:BUCKET_HEX_DIGITS], 16)


def bucket(salt: str, key: int | str) -> int:
    """The entity's bucket under ``salt``, in [0, BUCKETS)."""
    return bucket_hash(salt + ":" + key_text(key)) % BUCKETS  # type: ignore[operator]


def share_buckets(percent: Decimal) -> int | None:
    """How many of the BUCKETS a share of ``percent`` % is, or None when it is not a
    whole number of buckets (more than two decimals)."""
    n = percent * (BUCKETS // 100)
    return int(n) if n == n.to_integral_value() else None


def bucket_ranges(shares: list[int]) -> list[tuple[int, int]]:
    """The consecutive half-open bucket ranges that shares (in buckets) take, in order:
    the first arm starts at bucket 0."""
    out, low = [], 0
    for n in shares:
        out.append((low, low + n))
        low += n
    return out
