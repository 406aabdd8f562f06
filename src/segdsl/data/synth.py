"""Synthetic raw CRM tables for the two seed domains: deterministic, and no real people.

``generate("hospitality", out_dir, n=..., seed=..., as_of=...)`` writes the raw tables of
``examples/hospitality/schema.toml`` (guests, bookings, loyalty accounts, point
transactions, consents, engagement events) as seed CSVs; ``generate("golf", ...)`` those
of ``examples/golf/schema.toml`` (members, tee times, handicaps, tournament entries,
dues payments, consents, engagement events). The profile a rule reads is derived from
these tables elsewhere; nothing here is pre-computed.

Determinism: every entity draws from its own ``random.Random(f"{domain}/{seed}/{key}")``
using only ``random()``, the one method whose sequence Python promises to keep across
versions, so an entity's rows depend on nothing but (domain, seed, key, as_of). Chunk
size, ``n`` and the order of work cannot change a byte; the first ``k`` entities of a
run are those of any longer run. Source ids are dense from 1 in entity order.

Memory is bounded: entities are generated a chunk at a time and each chunk's rows are
appended to the table files in key order, with at most two chunks per worker in flight.
With ``jobs > 1`` worker processes make the chunks and this process writes them, so the
files are byte for byte those of one process. Every instant lies strictly
before ``as_of``; every date is on or before the last day that starts before it.
The shapes, and the rates they give, are documented in ``seeds/README.md``.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import itertools
import json
import math
import os
import random
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from segdsl.data.files import locked

UTC = dt.timezone.utc
DOMAINS = ("hospitality", "golf")
FIRST_ID = 1001
DEFAULT_N = {"hospitality": 3000, "golf": 1500}
DEFAULT_SEED = 7
DEFAULT_AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
CHUNK = 5000
EARLIEST_AS_OF = 1990

HOSPITALITY_INTERESTS = ("spa", "wellness", "golf", "business", "family", "beach", "food")
GOLF_INTERESTS = ("coaching", "competitions", "social", "juniors", "seniors", "travel")

# ------------------------------------------------------------------ table layouts
# Column lists as declared in examples/*/schema.toml (tests hold them equal):
# `name:type`, `!` for NOT NULL, enum values in parentheses. `model_scores` is written
# by `segdsl model score`, not here.

_CONSENTS = "{k}:int! channel:enum(email|sms|push)! granted:bool! recorded_at:timestamp!"
_EVENTS = "{k}:int! occurred_at:timestamp! channel:enum(email|sms|push|app)! kind:enum(open|click|session|conversion)!"
_LAYOUT_TEXT = {
    "hospitality": {
        "guests": "guest_id:int! first_name:text! email:text phone:text home_city:text "
        "status:enum(ACTIVE|INACTIVE)! signup_date:date! preferred_channel:enum(email|sms|push) interests:tags!",
        "bookings": "booking_id:int! guest_id:int! checked_in_at:timestamp! nights:int! amount_inr:decimal(12,2)! "
        "status:enum(completed|cancelled|no_show)! channel:enum(direct|ota|corporate)",
        "loyalty_accounts": "account_id:int! guest_id:int! tier:enum(Blue|Silver|Gold|Platinum)! enrolled_on:date!",
        "point_transactions": "txn_id:int! guest_id:int! occurred_at:timestamp! points:int! "
        "reason:enum(stay|bonus|redemption|expiry)!",
        "consents": "consent_id:int! " + _CONSENTS.format(k="guest_id"),
        "engagement_events": "event_id:int! " + _EVENTS.format(k="guest_id"),
    },
    "golf": {
        "members": "member_id:int! first_name:text! email:text phone:text status:enum(ACTIVE|INACTIVE)! "
        "membership_status:enum(ACTIVE|LAPSED|SUSPENDED|PROSPECT)! membership_tier:enum(Bronze|Silver|Gold|Platinum) "
        "joined_on:date interests:tags!",
        "tee_times": "tee_time_id:int! member_id:int! booked_at:timestamp! starts_at:timestamp! "
        "status:enum(played|cancelled|no_show|upcoming)!",
        "handicaps": "record_id:int! member_id:int! recorded_on:date! handicap_index:decimal(3,1)!",
        "tournament_entries": "entry_id:int! member_id:int! played_on:date! finish_position:int",
        "dues_payments": "payment_id:int! member_id:int! due_on:date! paid_on:date days_late:int amount:decimal(10,2)!",
        "consents": "consent_id:int! " + _CONSENTS.format(k="member_id"),
        "engagement_events": "event_id:int! " + _EVENTS.format(k="member_id"),
    },
}


def _parse_layout(text: str) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    cols = []
    for item in text.split():
        name, spec = item.split(":", 1)
        nullable = not spec.endswith("!")
        spec = spec.rstrip("!")
        values: tuple[str, ...] = ()
        if spec.startswith("enum("):
            values, spec = tuple(spec[5:-1].split("|")), "enum"
        cols.append((name, spec, nullable, values))
    return cols


#: domain -> table -> [(column, type, nullable, enum values)]; the first table is the
#: entity table, keyed by its first column; the others are numbered by their first.
LAYOUTS = {d: {t: _parse_layout(s) for t, s in tables.items()} for d, tables in _LAYOUT_TEXT.items()}


def tables(domain: str) -> list[str]:
    """The tables ``generate`` writes for ``domain``, the entity table first."""
    return list(LAYOUTS[_check_domain(domain)])


def table_schema(domain: str, table: str):
    """A :class:`segdsl.schema.model.Schema` for one generated table, keyed by its first column,
    for :func:`segdsl.data.tables.read_csv` / :func:`segdsl.data.tables.write_csv`."""
    from segdsl.schema.model import read_schema_dict

    cols = LAYOUTS[_check_domain(domain)][table]
    fields = {}
    for name, type_, nullable, values in cols:
        spec: dict = {"type": type_, "nullable": nullable}
        if values:
            spec["values"] = list(values)
        fields[name] = spec
    schema, diags = read_schema_dict({"entity": table, "table": table, "key": cols[0][0], "fields": fields})
    if schema is None:
        raise ValueError(f"bad layout for {domain}.{table}: {diags}")
    return schema


def _check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain `{domain}`; use one of {', '.join(DOMAINS)}")
    return domain


# ----------------------------------------------------------------------- public API


def generate(domain: str, out_dir: str | Path, *, n: int, seed: int, as_of: dt.datetime,
             progress: Callable[[int], None] | None = None, chunk_size: int = CHUNK,
             jobs: int = 1) -> dict[str, int]:
    """Write every table of ``domain`` to ``out_dir/<table>.csv`` for ``n`` entities
    (keys 1001 .. 1000 + n) as of the instant ``as_of``; return rows written per table.

    ``progress(k)`` is called after each chunk with the number of entities it held.
    ``jobs`` worker processes generate chunks in parallel; the files do not depend on it.
    Files are written under temporary names and renamed at the end, so an interrupted
    run leaves the previous files in place. Another run writing to ``out_dir`` makes
    this one fail at once with :class:`~segdsl.data.files.FileLocked`."""
    _check_domain(domain)
    if n < 0:
        raise ValueError("n must not be negative")
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if jobs < 1:
        raise ValueError("jobs must be positive")
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    as_of = as_of.astimezone(UTC)
    if not EARLIEST_AS_OF <= as_of.year <= 9000:
        raise ValueError(f"as_of must lie in the years {EARLIEST_AS_OF} to 9000 (the data reaches 30 years back)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # One run per folder at a time: two would write the same temporary files and leave
    # tables of neither. A second run is refused at once rather than kept waiting.
    with locked(out_dir, timeout=0):
        return _generate(domain, out_dir, n, seed, as_of, progress, chunk_size, jobs)


def _generate(domain: str, out_dir: Path, n: int, seed: int, as_of: dt.datetime,
              progress: Callable[[int], None] | None, chunk_size: int, jobs: int) -> dict[str, int]:
    layout = LAYOUTS[domain]
    spans = [(start, min(n, start + chunk_size)) for start in range(0, n, chunk_size)]
    writers: dict[str, _TableWriter] = {}
    try:
        for i, (t, cols) in enumerate(layout.items()):
            writers[t] = _TableWriter(out_dir / f"{t}.csv", [c[0] for c in cols], numbered=(i > 0))
        with contextlib.closing(_chunks(domain, seed, as_of, spans, jobs)) as chunks:
            for (start, stop), rows in chunks:
                for t, w in writers.items():
                    w.write(rows[t])
                del rows
                if progress is not None:
                    progress(stop - start)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        w.close()
    return {t: w.rows for t, w in writers.items()}


def _chunk_rows(domain: str, seed: int, as_of: dt.datetime, start: int, stop: int) -> dict[str, list[str]]:
    """The row bodies (each table's cells but the dense id) of entities ``start`` to
    ``stop - 1`` of a run: a chunk depends on nothing else, so any process can make it."""
    ctx = _context(as_of)
    make = _guest if domain == "hospitality" else _member
    rows: dict[str, list[str]] = {t: [] for t in LAYOUTS[domain]}
    for key in range(FIRST_ID + start, FIRST_ID + stop):
        make(_Draw(f"{domain}/{seed}/{key}"), key, ctx, rows)
    return rows


def _chunks(domain: str, seed: int, as_of: dt.datetime, spans: list[tuple[int, int]], jobs: int):
    """``(span, rows)`` for each span in order; with ``jobs > 1`` made by worker
    processes, at most two chunks per worker ahead of the writer (so memory stays
    bounded however fast the workers are)."""
    if jobs == 1 or len(spans) < 2:
        for start, stop in spans:
            yield (start, stop), _chunk_rows(domain, seed, as_of, start, stop)
        return
    import collections
    import concurrent.futures
    import multiprocessing

    # fork where the platform has it: the workers start at once and share the loaded module.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method))
    pending: collections.deque = collections.deque()
    todo = iter(spans)
    try:
        for span in itertools.islice(todo, 2 * jobs):
            pending.append((span, pool.submit(_chunk_rows, domain, seed, as_of, *span)))
        while pending:
            span, future = pending.popleft()
            rows = future.result()
            for nxt in itertools.islice(todo, 1):
                pending.append((nxt, pool.submit(_chunk_rows, domain, seed, as_of, *nxt)))
            yield span, rows
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@functools.lru_cache(maxsize=4)
def _context(as_of: dt.datetime) -> _Context:
    return _Context(as_of)


# ------------------------------------------------------------------------ writing CSV


class _TableWriter:
    """Appends rows to ``<path>.tmp``; ``close`` renames it into place. Source tables are
    ``numbered``: each row gets the next dense id (from 1) as its first cell."""

    def __init__(self, path: Path, columns: Sequence[str], numbered: bool):
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.numbered = numbered
        self.rows = 0
        self._f = open(self.tmp, "w", encoding="utf-8", newline="")
        self._f.write(",".join(_quote(c) for c in columns) + "\n")

    def write(self, bodies: list[str]) -> None:
        if self.numbered:
            first = self.rows + 1
            self._f.write("".join([f"{first + i},{b}\n" for i, b in enumerate(bodies)]))
        else:
            self._f.write("".join([b + "\n" for b in bodies]))
        self._f.flush()  # a chunk is on disk before the next is generated
        self.rows += len(bodies)

    def close(self) -> None:
        self._f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._f.close()
        self.tmp.unlink(missing_ok=True)


def _quote(s: str) -> str:
    # As segdsl.data.tables writes text: an unquoted empty field is NULL, so "" is quoted.
    if s == "" or any(c in s for c in ',"\r\n') or s != s.strip():
        return '"' + s.replace('"', '""') + '"'
    return s


def _text(s: str | None) -> str:
    return "" if s is None else _quote(s)


def _tags(tags: Sequence[str]) -> str:
    return _quote(json.dumps(sorted(tags), ensure_ascii=False))


def _money(x: float) -> str:
    """A non-negative amount with two places (rounded half up, never through Decimal)."""
    paise = int(x * 100 + 0.5)
    return f"{paise // 100}.{paise % 100:02d}"


def _tenths(t: int) -> str:
    return f"{'-' if t < 0 else ''}{abs(t) // 10}.{abs(t) % 10}"


def _bool(b: bool) -> str:
    return "true" if b else "false"


# ------------------------------------------------------------------ randomness


class _Draw:
    """Distributions built on ``Random.random()`` alone (see the module docstring)."""

    __slots__ = ("u",)

    def __init__(self, key: str):
        self.u = random.Random(key).random

    def chance(self, p: float) -> bool:
        return self.u() < p

    def below(self, k: int) -> int:
        """Uniform integer in ``[0, k)``."""
        return min(int(self.u() * k), k - 1)

    def pick(self, items: Sequence):
        return items[self.below(len(items))]

    def weighted(self, w: _Weights):
        return w.items[bisect.bisect_right(w.cum, self.u() * w.total)]

    def normal(self, mu: float, sigma: float) -> float:
        # Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        r = math.sqrt(-2.0 * math.log(1.0 - self.u()))
        return mu + sigma * r * math.cos(2.0 * math.pi * self.u())

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.normal(0.0, sigma))

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:  # normal approximation: Knuth's loop is long and underflows
            return max(0, int(self.normal(lam, math.sqrt(lam)) + 0.5))
        limit, k, p = math.exp(-lam), 0, self.u()
        while p > limit:
            k += 1
            p *= self.u()
        return k

    def subset(self, vocabulary: Sequence[str], k: int) -> list[str]:
        pool = list(vocabulary)
        return [pool.pop(self.below(len(pool))) for _ in range(min(k, len(pool)))]


class _Weights:
    __slots__ = ("cum", "items", "total")

    def __init__(self, *pairs):
        self.items = [p[0] for p in pairs]
        self.cum, total = [], 0.0
        for _, w in pairs:
            total += w
            self.cum.append(total)
        self.cum[-1] = math.inf  # u * total can never fall off the end
        self.total = total


# ---------------------------------------------------------------------- shared parts

DAY = 86_400
_SPAN = 12_000  # days of calendar precomputed before the as-of date (tenures are shorter)
#: History the source services hand over (bookings, loyalty and memberships go back to
#: the start): engagement events one year, tee-time data (tee times, handicap
#: revisions, tournaments) 400 days, dues 13 months, consents eight years.
EVENT_DAYS = 365
TEETIME_DAYS = 400
DUES_MONTHS = 13
CONSENT_DAYS = 2920

# Relative demand by calendar month (index 0 = January).
HOTEL_SEASON = (1.0, 0.75, 0.65, 0.6, 0.9, 0.9, 0.45, 0.45, 0.55, 0.9, 1.0, 1.0)
GOLF_SEASON = (1.0, 1.0, 0.85, 0.6, 0.4, 0.35, 0.3, 0.3, 0.45, 0.8, 1.0, 1.0)


class _Context:
    """Everything that depends on the run but not on the entity: the calendar."""

    def __init__(self, as_of: dt.datetime):
        self.as_of_s = int((as_of - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        #: The last day that starts strictly before the as-of instant.
        self.last = (self.as_of_s - 1) // DAY
        #: Seconds of the last day that lie before the as-of instant.
        self.last_len = self.as_of_s - self.last * DAY
        self.base = self.last - _SPAN
        epoch = dt.date(1970, 1, 1).toordinal()
        days = [dt.date.fromordinal(self.base + i + epoch) for i in range(_SPAN + 1)]
        self.iso = [d.isoformat() for d in days]
        self.month = [d.month - 1 for d in days]
        self.dow = [d.weekday() for d in days]
        #: (first day, last day, month index) of each calendar month in the span.
        self.months: list[tuple[int, int, int]] = []
        for i, d in enumerate(days):
            if d.day == 1 or i == 0:
                self.months.append((self.base + i, self.base + i, d.month - 1))
            else:
                a, _, m = self.months[-1]
                self.months[-1] = (a, self.base + i, m)
        # Club tournaments: the second Sunday of every month, and the fourth in season.
        self.tournaments = [
            self.base + i for i, d in enumerate(days)
            if d.weekday() == 6 and (8 <= d.day <= 14 or (22 <= d.day <= 28 and d.month in (11, 12, 1, 2)))
        ]

    def ts(self, day: int, secs: int) -> int:
        """The instant ``secs`` into ``day``, kept before the as-of instant."""
        if day >= self.last:
            day, secs = self.last, secs % self.last_len
        return day * DAY + secs

    def date(self, day: int) -> str:
        return self.iso[day - self.base]

    def stamp(self, t: int) -> str:
        day, sec = divmod(t, DAY)
        h, r = divmod(sec, 3600)
        return f"{self.iso[day - self.base]}T{h:02d}:{r // 60:02d}:{r % 60:02d}Z"

    def seasonal_day(self, d: _Draw, lo: int, hi: int, season: Sequence[float]) -> int:
        """A day in ``[lo, hi]``, uniform but thinned by the month it falls in."""
        span = hi - lo + 1
        day = lo + d.below(span)
        for _ in range(6):
            if d.u() < season[self.month[day - self.base]]:
                break
            day = lo + d.below(span)
        return day


# Given names and surnames common in India, plus a few with non-ASCII letters so that
# text rules meet accents. Only combinations are made up; no row describes a person.
_FIRST = (
    "Aarav Aditya Amit Anita Anjali Arjun Ayesha Deepa Divya Farhan Gurpreet Harpreet "
    "Imran Isha Joseph Kabir Karan Kavya Lakshmi Manoj Maria Meera Neha Nikhil Pooja "
    "Priya Rahul Rajesh Riya Rohan Saanvi Sanjay Sneha Sunita Suresh Tanvi Thomas Varun "
    "Vikram Zoya Ananya Ishaan Nandini Rakesh Sameer Shreya Vivek Yash Fatima"
).split() + ["Renée", "Zoë", "Chloé", "André"]
_LAST = (
    "Sharma Verma Iyer Nair Reddy Rao Menon Gupta Singh Kaur Khan Patel Shah Mehta Das "
    "Bose Chatterjee Pillai Joshi Kulkarni Desai Fernandes DSouza Mukherjee Agarwal "
    "Banerjee Chopra Malhotra Kapoor Sethi"
).split()
_EMAIL_DOMAINS = _Weights(
    ("gmail.com", 44), ("yahoo.co.in", 12), ("outlook.com", 11), ("hotmail.com", 6),
    ("rediffmail.com", 5), ("icloud.com", 5), ("example.com", 17),
)
_CITIES = _Weights(
    ("Mumbai", 16), ("Delhi", 14), ("Bengaluru", 13), ("Chennai", 8), ("Hyderabad", 8),
    ("Pune", 7), ("Kolkata", 6), ("Ahmedabad", 5), ("Jaipur", 4), ("Kochi", 3),
    ("Chandigarh", 3), ("Lucknow", 3), ("Gurugram", 4), ("Dubai", 2), ("Singapore", 2),
    ("London", 1), ("Zürich", 1), ("São Paulo", 1),
)
_DECISIONS = _Weights((1, 75), (2, 15), (3, 6), (4, 4))
_EVENT_KINDS = {
    "email": _Weights(("open", 72), ("click", 24), ("conversion", 4)),
    "sms": _Weights(("click", 90), ("conversion", 10)),
    "push": _Weights(("open", 85), ("click", 12), ("conversion", 3)),
    "app": _Weights(("session", 93), ("conversion", 7)),
}
_ASCII = {name: unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
          for name in _FIRST + _LAST}


def _email(d: _Draw, first: str, last: str, key: int) -> str:
    # The local part ends with the key's digits after a digit-free prefix, so addresses
    # are unique (ignoring case) without remembering the ones handed out.
    f, s = _ASCII[first], _ASCII[last]
    style = d.below(4)
    local = (f"{f}.{s}", f"{f}{s}", f"{f[0]}{s}", f"{f}_{s}")[style] + str(key)
    address = f"{local}@{d.weighted(_EMAIL_DOMAINS)}"
    r = d.u()
    if r < 0.025:
        return address.upper()  # CRMs keep what the guest typed: ANITA.RAO1234@GMAIL.COM
    if r < 0.045:
        local, domain = address.split("@")
        return f"{local.capitalize()}@{domain.capitalize()}"
    return address


def _phone(d: _Draw) -> str:
    return f"+91{6 + d.below(4)}{d.below(1_000_000_000):09d}"


def _decisions(d: _Draw, c: _Context, start: int, p_final: float, revoke: bool) -> list[tuple[int, bool]]:
    """Consent decisions on one channel from ``start``: the first at ``start``, later ones
    spread over the years since; strictly increasing instants; the latest is granted with
    ``p_final`` (never when ``revoke``), earlier ones mostly the opposite of the next."""
    k = d.weighted(_DECISIONS)
    span = c.last - start + 1
    times = sorted([c.ts(start, 28_800 + d.below(50_400))]
                   + [c.ts(start + d.below(span), d.below(DAY)) for _ in range(k - 1)])
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            times[i] = times[i - 1] + 1
    times = [t for t in times if t < c.as_of_s]
    granted = [False] * len(times)
    nxt = (not revoke) and d.chance(p_final)
    for i in range(len(times) - 1, -1, -1):
        granted[i] = nxt
        nxt = (not nxt) if d.chance(0.7) else d.chance(0.5)
    return list(zip(times, granted))


def _intervals(decisions: list[tuple[int, bool]], end: int) -> list[tuple[int, int]]:
    """The spans during which the channel was granted."""
    out = []
    for i, (t, granted) in enumerate(decisions):
        if granted:
            out.append((t, decisions[i + 1][0] if i + 1 < len(decisions) else end))
    return out


def _events(d: _Draw, c: _Context, key: int, start: int, channels, activity: list[int],
            boost: float, out: list[str]) -> None:
    """Engagement events in the last ``EVENT_DAYS``: per channel a Poisson stream at
    ``rate`` per day while granted, thinned by warmth (recent ``activity`` days)."""
    lo = max(start, c.last - EVENT_DAYS) * DAY
    events = []
    for channel, spans, rate in channels:
        kinds = _EVENT_KINDS[channel]
        for a, b in spans:
            a, b = max(a, lo), min(b, c.as_of_s)
            if b <= a:
                continue
            for _ in range(d.poisson(rate * boost * (b - a) / DAY)):
                t = a + d.below(b - a)
                i = bisect.bisect_right(activity, t // DAY)
                since = (t // DAY - activity[i - 1]) if i else 10_000
                if d.u() < 0.2 + 0.8 * math.exp(-since / 90.0):
                    events.append((t, channel, d.weighted(kinds)))
    events.sort()
    out.extend([f"{key},{c.stamp(t)},{ch},{kind}" for t, ch, kind in events])


# ----------------------------------------------------------------------- hospitality

_BOOKING_CHANNEL = _Weights(("direct", 45), ("ota", 37), ("corporate", 10), ("", 8))
_PREFERRED = _Weights(("", 45), ("email", 30), ("sms", 14), ("push", 11))
_INTEREST_COUNT = _Weights((0, 18), (1, 41), (2, 25), (3, 16))
_TIERS = (("Platinum", 50), ("Gold", 25), ("Silver", 10), ("Blue", 0))
_UPGRADE = {"Blue": "Silver", "Silver": "Gold", "Gold": "Platinum", "Platinum": "Platinum"}
_MULTIPLIER = {"Blue": 1.0, "Silver": 1.25, "Gold": 1.5, "Platinum": 2.0}


def _guest(d: _Draw, key: int, c: _Context, out: dict[str, list[str]]) -> None:
    last = c.last
    first, surname = d.pick(_FIRST), d.pick(_LAST)
    # Profiles reach back nine years, newer ones more common. Most are created by a
    # first booking; the rest by a web or app sign-up that may never lead to a stay.
    tenure = int(3287 * d.u() ** 1.4)
    signup = last - tenure
    via_booking = d.chance(0.8)
    # Half the guests are still customers; the others stopped at some point.
    end = last if d.chance(0.55) else signup + d.below(tenure + 1)
    activity = d.lognormal(1.0, 1.0)  # stays a year while a customer: heavy-tailed
    lam = activity * (end - signup) / 365.25 * (1.0 if via_booking else 0.5)
    days = [c.seasonal_day(d, signup, end, HOTEL_SEASON) for _ in range(min(d.poisson(lam), 250))]
    if via_booking:
        days.append(signup)
    days.sort()

    interests = d.subset(HOSPITALITY_INTERESTS, d.weighted(_INTEREST_COUNT))
    business = "business" in interests
    rate = d.lognormal(6_500.0, 0.55)  # the guest's nightly rate in INR
    completed: list[tuple[int, int, float]] = []  # (check-in instant, nights, amount)
    rows = out["bookings"]
    for day in days:
        # Check-in in UTC: mostly the afternoon in India (08:30 UTC is 14:00 IST), some
        # late arrivals whose UTC date is the day before the local one.
        secs = 18_000 + d.below(21_600) if d.chance(0.85) else 61_200 + d.below(25_200)
        t = c.ts(day, secs)
        nights = 1 + min(int(d.exponential(0.8 if business else 1.3)), 13)
        r = d.u()
        if r < 0.87:
            status, amount = "completed", rate * nights * (0.85 + 0.35 * d.u())
            if d.chance(0.04):
                amount *= 1.0 - 0.3 * d.u()  # a partial refund
            completed.append((t, nights, amount))
        elif r < 0.97:
            status, amount = "cancelled", (0.5 * rate if d.chance(0.3) else 0.0)
        else:
            status, amount = "no_show", rate
        channel = "corporate" if business and d.chance(0.4) else d.weighted(_BOOKING_CHANNEL)
        rows.append(f"{key},{c.stamp(t)},{nights},{_money(amount)},{status},{channel}")

    loyal = _loyalty(d, c, key, signup, completed, out)

    status = "INACTIVE" if d.chance(0.03) else "ACTIVE"
    inactive = status == "INACTIVE"
    email = _email(d, first, surname, key) if d.chance(0.86) else None
    phone = _phone(d) if d.chance(0.74) else None
    city = d.weighted(_CITIES) if d.chance(0.92) else None
    app_user = d.chance(0.45)
    cstart = max(signup, last - CONSENT_DAYS)
    channels = []
    rows = out["consents"]
    for channel, asked, p_final, rate in (
        ("email", 0.92 if email else 0.25, 0.75, 0.05 if email else 0.0),
        ("sms", 0.75 if phone else 0.08, 0.40, 0.012 if phone else 0.0),
        ("push", 0.9 if app_user else 0.0, 0.30, 0.04),
    ):
        if d.chance(asked):
            decisions = _decisions(d, c, cstart, p_final, inactive)
            rows.extend([f"{key},{channel},{_bool(g)},{c.stamp(t)}" for t, g in decisions])
            channels.append((channel, _intervals(decisions, c.as_of_s), rate))
    if app_user and not inactive:
        channels.append(("app", [(signup * DAY, c.as_of_s)], 0.03))
    stays = sorted({t // DAY for t, _, _ in completed})
    _events(d, c, key, signup, channels, stays, 1.5 if loyal else 1.0, out["engagement_events"])

    preferred = d.weighted(_PREFERRED)
    out["guests"].append(
        f"{key},{_quote(first)},{_text(email)},{_text(phone)},{_text(city)},{status},"
        f"{c.date(signup)},{preferred},{_tags(interests)}"
    )


def _loyalty(d: _Draw, c: _Context, key: int, signup: int, completed: list[tuple[int, int, float]],
             out: dict[str, list[str]]) -> bool:
    """Loyalty accounts and the points ledger; False for a guest who never enrolled."""
    n = len(completed)
    if not d.chance(0.45 if n == 0 else 0.6 if n == 1 else 0.75 if n <= 3 else 0.9):
        return False
    if completed and d.chance(0.45):
        enrol = completed[d.below(n)][0] // DAY  # joined at the desk during a stay
    else:
        enrol = signup
    accounts = [enrol]
    if d.chance(0.08) and c.last - enrol >= 180:  # closed, and re-enrolled later
        accounts.append(enrol + 90 + d.below(c.last - enrol - 89))
    since = accounts[-1] * DAY
    nights = sum(k for t, k, _ in completed if t >= since)
    tier = next(name for name, need in _TIERS if nights >= need)
    if d.chance(0.04):
        tier = _UPGRADE[tier]  # status match from another programme
    rows = out["loyalty_accounts"]
    if len(accounts) == 2:
        rows.append(f"{key},{'Silver' if d.chance(0.3) else 'Blue'},{c.date(accounts[0])}")
    rows.append(f"{key},{tier},{c.date(accounts[-1])}")

    # The points ledger, in time order: stays earn at check-out, a few bonuses, some
    # redemptions, and expiry after two years without activity. Never below zero.
    mult = _MULTIPLIER[tier]
    opened = c.ts(enrol, 28_800 + d.below(50_400))
    ledger: list[tuple[int, int, str]] = []
    balance, last_activity = 0, opened

    def post(t: int, points: int, reason: str) -> None:
        nonlocal balance, last_activity
        if balance > 0 and t - last_activity > 730 * DAY:
            ledger.append((last_activity + 730 * DAY, -balance, "expiry"))
            balance = 0
        ledger.append((t, points, reason))
        balance += points
        last_activity = t

    if d.chance(0.6):
        post(opened, 500, "bonus")
    earns = [(t + k * DAY + 7_200, amount) for t, k, amount in completed if t >= opened]
    earns = sorted([(t, a) for t, a in earns if t < c.as_of_s])  # still in the house: not posted yet
    for i, (t, amount) in enumerate(earns):
        post(t, int(amount / 100 * mult), "stay")
        if d.chance(0.05):
            post(t + 60, 1000, "bonus")
        if balance >= 1500 and d.chance(0.4):
            when = t + (1 + d.below(60)) * DAY + d.below(DAY)
            until = earns[i + 1][0] if i + 1 < len(earns) else c.as_of_s
            if when < until:
                post(when, -500 * max(1, int(d.u() * balance / 500)), "redemption")
    if balance > 0 and c.as_of_s - last_activity > 730 * DAY:
        ledger.append((last_activity + 730 * DAY, -balance, "expiry"))
    out["point_transactions"].extend([f"{key},{c.stamp(t)},{p},{r}" for t, p, r in ledger])
    return True


# ------------------------------------------------------------------------------ golf

_STATE = _Weights(("ACTIVE", 74), ("LAPSED", 12), ("SUSPENDED", 4), ("PROSPECT", 10))
_TIER = _Weights(("Bronze", 34), ("Silver", 33), ("Gold", 22), ("Platinum", 11))
_DUES = {"Bronze": 4_500.0, "Silver": 7_500.0, "Gold": 12_000.0, "Platinum": 20_000.0}
_TEE_STATUS = _Weights(("played", 86), ("cancelled", 9), ("no_show", 5))
_PAYER = _Weights(("punctual", 72), ("sometimes", 20), ("chronic", 8))


def _member(d: _Draw, key: int, c: _Context, out: dict[str, list[str]]) -> None:
    last = c.last
    first, surname = d.pick(_FIRST), d.pick(_LAST)
    state = d.weighted(_STATE)
    prospect = state == "PROSPECT"
    status = "INACTIVE" if d.chance(0.15 if state == "LAPSED" else 0.03) else "ACTIVE"
    tier = None if prospect else d.weighted(_TIER)
    if prospect:
        joined, start = None, last - d.below(400)  # start: when the prospect was recorded
    else:
        tenure = 30 + int(9000 * d.u() ** 1.3)
        if state == "LAPSED":
            tenure = max(tenure, 300 + d.below(2000))
        joined = start = last - tenure
    # When play (and dues) stop: lapsed members left, suspended ones were barred, and
    # some active members stopped playing while still paying.
    play_end = dues_end = last
    suspended = None
    if state == "LAPSED":
        lo, hi = max(joined + 180, last - 1500), last - 60
        play_end = dues_end = lo + d.below(hi - lo + 1)
    elif state == "SUSPENDED":
        suspended = play_end = last - 20 - d.below(180)
    elif state == "ACTIVE" and d.chance(0.12):
        play_end = last - 60 - d.below(340)

    # Tee times: a member plays a heavy-tailed number of rounds a month in season.
    window = max(start, last - TEETIME_DAYS)
    played: list[int] = []
    tee_rows = out["tee_times"]
    if prospect:
        rate, window = (1.5 if d.chance(0.25) else 0.0), max(start, last - 90)
    else:
        rate = d.lognormal({"ACTIVE": 2.2, "LAPSED": 1.2, "SUSPENDED": 1.5}[state], 0.7)
    if rate and play_end >= window:
        i = bisect.bisect_right(c.months, (window, math.inf, 99)) - 1
        while i < len(c.months) and c.months[i][0] <= play_end:
            ms, me, month = c.months[i]
            lo, hi = max(ms, window), min(me, play_end)
            i += 1
            k = d.poisson(rate * GOLF_SEASON[month] * (hi - lo + 1) / 30.4)
            for day in sorted([lo + d.below(hi - lo + 1) for _ in range(k)]):
                # 06:00-16:00 in India is 00:30-10:30 UTC.
                starts = c.ts(day, 1_800 + d.below(36_000))
                lead = 3_600 + int(d.exponential(4 * DAY))
                booked = max(starts - min(lead, 28 * DAY), start * DAY)
                tee = d.weighted(_TEE_STATUS)
                if tee == "played":
                    played.append(day)
                tee_rows.append(f"{key},{c.stamp(booked)},{c.stamp(starts)},{tee}")

    # Handicap index: revised after each month with a round, drifting towards the
    # member's level (newer players start higher and improve).
    target = min(36.0, max(-2.0, d.normal(16.0, 7.5)))
    hcap = None
    if d.chance(0.3 if prospect else 0.92):
        h = min(36.0, max(-2.0, target + abs(d.normal(0.0, 4.0)) + 1.0))
        rows = out["handicaps"]
        first_day = min(played[0], window) if played else max(window, last - d.below(365))
        hcap = math.floor(h * 10 + 0.5)
        rows.append(f"{key},{c.date(first_day)},{_tenths(hcap)}")
        prev = first_day
        for j, day in enumerate(played):
            if j + 1 < len(played) and c.month[played[j + 1] - c.base] == c.month[day - c.base] \
                    and played[j + 1] - day < 31:
                continue  # not the month's last round
            rec = day + 1
            if rec > last or rec <= prev:
                continue
            h = min(36.0, max(-2.0, h + 0.12 * (target - h) + d.normal(0.0, 0.6)))
            hcap = math.floor(h * 10 + 0.5)
            rows.append(f"{key},{c.date(rec)},{_tenths(hcap)}")
            prev = rec

    # Tournaments: the club's calendar; competitive members with good handicaps enter.
    skill = 0.3 if hcap is None else min(1.0, max(0.0, (240 - hcap) / 240))
    competitive = not prospect and d.chance(0.25)
    if not prospect:
        p = 0.3 + 0.4 * skill if competitive else 0.03
        rows = out["tournament_entries"]
        j = bisect.bisect_left(c.tournaments, max(joined, last - TEETIME_DAYS))
        for day in c.tournaments[j:]:
            if day > min(play_end, last):
                break
            if d.chance(p):
                field = 60 + d.below(60)
                pos = "" if d.chance(0.05) else str(1 + int(field * d.u() ** (0.6 + 1.8 * skill)))
                rows.append(f"{key},{c.date(day)},{pos}")

    if not prospect:
        _dues(d, c, key, tier, joined, dues_end, suspended, out["dues_payments"])

    email = _email(d, first, surname, key) if d.chance(0.9) else None
    phone = _phone(d) if d.chance(0.8) else None
    app_user = d.chance(0.35)
    inactive = status == "INACTIVE"
    cstart = max(start, last - CONSENT_DAYS)
    channels = []
    rows = out["consents"]
    for channel, asked, p_final, rate in (
        ("email", 0.95 if email else 0.2, 0.70, 0.04 if email else 0.0),
        ("sms", 0.7 if phone else 0.05, 0.45, 0.01 if phone else 0.0),
        ("push", 0.9 if app_user else 0.0, 0.40, 0.025),
    ):
        if d.chance(asked):
            decisions = _decisions(d, c, cstart, p_final, inactive)
            rows.extend([f"{key},{channel},{_bool(g)},{c.stamp(t)}" for t, g in decisions])
            channels.append((channel, _intervals(decisions, c.as_of_s), rate))
    if app_user and not inactive:
        channels.append(("app", [(start * DAY, c.as_of_s)], 0.025))
    _events(d, c, key, start, channels, sorted(set(played)), 1.0, out["engagement_events"])

    interests = d.subset(GOLF_INTERESTS, d.weighted(_INTEREST_COUNT))
    if competitive and "competitions" not in interests and d.chance(0.8):
        interests.append("competitions")
    out["members"].append(
        f"{key},{_quote(first)},{_text(email)},{_text(phone)},{status},{state},{tier or ''},"
        f"{'' if joined is None else c.date(joined)},{_tags(interests)}"
    )


def _dues(d: _Draw, c: _Context, key: int, tier: str, joined: int, end: int, suspended: int | None,
          rows: list[str]) -> None:
    """Monthly dues on the 1st, from the first 1st after joining (at most DUES_MONTHS
    back) to ``end``; paid on time, late, or not yet (paid_on and days_late NULL)."""
    payer = d.weighted(_PAYER)
    amount = _money(_DUES[tier])
    i = bisect.bisect_right(c.months, (c.last, math.inf, 99)) - 1
    firsts = [ms for ms, _, _ in c.months[max(0, i - DUES_MONTHS + 1):i + 1] if joined < ms <= end]
    for due in firsts:
        if suspended is not None and due >= suspended - 60:
            late = None  # what got the member suspended
        elif suspended is not None and due >= suspended - 240:
            late = 31 + int(d.exponential(30)) if d.chance(0.6) else d.below(15)
        elif payer == "punctual":
            late = min(int(d.exponential(2.0)), 10)
        elif payer == "sometimes":
            late = 31 + int(d.exponential(15)) if d.chance(0.12) else d.below(15)
        else:
            late = 31 + int(d.exponential(25)) if d.chance(0.4) else int(d.exponential(8))
        if late is None or due + late > c.last:
            rows.append(f"{key},{c.date(due)},,,{amount}")
        else:
            rows.append(f"{key},{c.date(due)},{c.date(due + late)},{late},{amount}")
