"""Deterministic workload for the compile figure: typical segment rules over the
hospitality schema, each paired with the Postgres SQL an engineer would write by hand
for the same audience at the same pinned as-of instant (the baseline's input).

Rules have 3 or 4 conditions, mostly joined by `and`, sometimes with one `(a or b)`
group, drawn from the predicates CRM teams actually write: money and count thresholds,
recency, loyalty tiers, email domains, interest tags, consent flags, cities, score
ranges. The same seed always yields the same rules, so runs are comparable.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import NamedTuple

#: Fixed seed: change it only together with the published figures.
SEED = 20261101

#: The evaluation instant every rule is compiled at (and the hand-written SQL assumes).
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
_D = AS_OF.date()

SCHEMA_PATH = "examples/hospitality/schema.toml"


class Rule(NamedTuple):
    text: str  #: the rule as a user writes it (input of segdsl.syntax.parser.parse_expression)
    sql: str  #: equivalent hand-written Postgres query (input of the baseline)


class _Pred(NamedTuple):
    field: str  # the field it constrains, so a rule does not repeat a field
    text: str
    sql: str
    compound: bool = False  # the SQL is an AND of several comparisons


class _R:
    """Draws built on ``random.Random(seed).random()`` alone: the one method whose
    sequence Python promises to keep across versions (as in ``segdsl.data.synth``), so the
    same seed gives the same rules on every Python."""

    def __init__(self, seed: int):
        self._random = random.Random(seed).random

    def random(self) -> float:
        return self._random()

    def randrange(self, lo: int, hi: int) -> int:
        return lo + int(self._random() * (hi - lo))

    def choice(self, seq):
        return seq[int(self._random() * len(seq))]

    def sample(self, seq, k: int) -> list:
        pool = list(seq)
        return [pool.pop(int(self._random() * len(pool))) for _ in range(k)]

    def weighted(self, seq, weights):
        x = self._random() * sum(weights)
        for item, w in zip(seq, weights):
            x -= w
            if x < 0:
                return item
        return seq[-1]


def _money(n: int) -> str:
    return f"{n:_}"


def _day(days_ago: int) -> dt.date:
    return _D - dt.timedelta(days=days_ago)


def _ts(d: dt.date) -> str:
    return f"TIMESTAMPTZ '{d.isoformat()} 00:00:00+00'"


def _quote_list(values) -> tuple[str, str]:
    seg = "[" + ", ".join(f'"{v}"' for v in values) + "]"
    sql = ", ".join(f"'{v}'" for v in values)
    return seg, sql


def _ltv(r: _R) -> _Pred:
    n = r.choice([5_000, 10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 250_000])
    op = r.choice([">=", ">=", ">", "<"])
    return _Pred("ltv", f"ltv {op} {_money(n)}", f"lifetime_value {op} {n}")


def _avg_booking(r: _R) -> _Pred:
    n = r.randrange(1, 6)
    op = r.choice([">=", ">"])
    return _Pred("bookings_365d", f"bookings_365d {op} {n}", f"bookings_365d {op} {n}")


def _bookings(r: _R) -> _Pred:
    if r.random() < 0.3:
        lo = r.randrange(1, 5)
        hi = lo + r.randrange(1, 6)
        return _Pred("total_bookings", f"total_bookings between {lo} and {hi}", f"total_bookings BETWEEN {lo} AND {hi}")
    n = r.randrange(2, 12)
    return _Pred("total_bookings", f"total_bookings >= {n}", f"total_bookings >= {n}")


def _nights(r: _R) -> _Pred:
    n = r.choice([5, 10, 20, 30, 50])
    return _Pred("total_nights", f"total_nights > {n}", f"total_nights > {n}")


def _points(r: _R) -> _Pred:
    n = r.choice([1_000, 5_000, 10_000, 25_000])
    return _Pred("loyalty_points", f"loyalty_points >= {_money(n)}", f"loyalty_points >= {n}")


def _days_since(r: _R) -> _Pred:
    days = "DATE '{}' - (last_booking_at AT TIME ZONE 'UTC')::date".format(_D.isoformat())
    if r.random() < 0.25:
        lo = r.choice([30, 60, 90])
        hi = lo + r.choice([30, 90, 180])
        return _Pred("days_since_booking", f"days_since_booking between {lo} and {hi}",
                     f"{days} BETWEEN {lo} AND {hi}")
    n = r.choice([30, 60, 90, 180, 365, 730])
    op = r.choice([">=", ">=", "<="])
    return _Pred("days_since_booking", f"days_since_booking {op} {n}", f"{days} {op} {n}")


def _recent_booking(r: _R) -> _Pred:
    n = r.choice([7, 30, 90, 180, 365])
    if r.random() < 0.7:
        # within N days: D - N <= UTC date <= D
        return _Pred(
            "last_booking_at",
            f"last_booking_at within {n} days",
            f"last_booking_at >= {_ts(_day(n))} AND last_booking_at < {_ts(_day(-1))}",
            compound=True,
        )
    # before N days ago: UTC date < D - N
    return _Pred("last_booking_at", f"last_booking_at before {n} days ago", f"last_booking_at < {_ts(_day(n))}")


def _signup(r: _R) -> _Pred:
    if r.random() < 0.5:
        weeks = r.choice([2, 4, 8, 12, 26])
        return _Pred("signup_date", f"signup_date after {weeks} weeks ago",
                     f"signup_date > DATE '{_day(7 * weeks).isoformat()}'")
    year = r.choice([2020, 2022, 2023, 2024, 2025])
    return _Pred("signup_date", f"signup_date >= {year}-01-01", f"signup_date >= DATE '{year}-01-01'")


def _tier(r: _R) -> _Pred:
    tiers = ["Blue", "Silver", "Gold", "Platinum"]
    if r.random() < 0.3:
        t = r.choice(tiers)
        return _Pred("loyalty_tier", f'loyalty_tier = "{t}"', f"loyalty_tier = '{t}'")
    chosen = sorted(r.sample(tiers, r.choice([2, 2, 3])), key=tiers.index)
    seg, sql = _quote_list(chosen)
    return _Pred("loyalty_tier", f"loyalty_tier in {seg}", f"loyalty_tier IN ({sql})")


def _channel(r: _R) -> _Pred:
    chans = ["email", "sms", "push"]
    chosen = sorted(r.sample(chans, r.choice([1, 2])), key=chans.index)
    seg, sql = _quote_list(chosen)
    if r.random() < 0.3:
        return _Pred("preferred_channel", f"preferred_channel not in {seg}", f"preferred_channel NOT IN ({sql})")
    return _Pred("preferred_channel", f"preferred_channel in {seg}", f"preferred_channel IN ({sql})")


def _status(r: _R) -> _Pred:
    return _Pred("status", 'status = "ACTIVE"', "status = 'ACTIVE'")


_DOMAINS = ["@gmail.com", "@yahoo.co.in", "@outlook.com", "@icloud.com", "@hotmail.com", "@rediffmail.com"]


def _email(r: _R) -> _Pred:
    x = r.random()
    if x < 0.6:
        dom = r.choice(_DOMAINS)
        if r.random() < 0.7:
            return _Pred("email", f'email ends with "{dom}" ignoring case', f"email ILIKE '%{dom}'")
        return _Pred("email", f'email ends with "{dom}"', f"email LIKE '%{dom}'")
    if x < 0.8:
        word = r.choice(["reddy", "sharma", "travel", "corp"])
        return _Pred("email", f'email contains "{word}"', f"email LIKE '%{word}%'")
    return _Pred("email", "email is not null", "email IS NOT NULL")


def _first_name(r: _R) -> _Pred:
    p = r.choice(["An", "Ka", "Ra", "Sa", "Ma", "Vi"])
    return _Pred("first_name", f'first_name starts with "{p}"', f"first_name LIKE '{p}%'")


def _phone(r: _R) -> _Pred:
    if r.random() < 0.5:
        return _Pred("phone", 'phone starts with "+91"', "phone LIKE '+91%'")
    return _Pred("phone", "phone is null", "phone IS NULL")


_TAGS = ["spa", "wellness", "golf", "business", "family", "beach", "food"]


def _interests(r: _R) -> _Pred:
    x = r.random()
    if x < 0.25:
        t = r.choice(_TAGS)
        return _Pred("interests", f'interests has "{t}"', f"'{t}' = ANY(interests)")
    chosen = r.sample(_TAGS, r.choice([2, 2, 3]))
    seg, sql = _quote_list(chosen)
    if x < 0.8:
        return _Pred("interests", f"interests has any {seg}", f"interests && ARRAY[{sql}]")
    return _Pred("interests", f"interests has all {seg}", f"interests @> ARRAY[{sql}]")


def _consent(r: _R) -> _Pred:
    x = r.random()
    if x < 0.6:
        return _Pred("email_opt_in", "email_opt_in", "email_opt_in")
    if x < 0.8:
        return _Pred("push_opt_in", "push_opt_in", "push_opt_in")
    if x < 0.9:
        return _Pred("sms_opt_in", "sms_opt_in", "sms_opt_in")
    return _Pred("sms_opt_in", "not sms_opt_in", "NOT sms_opt_in")


_CITIES = ["Mumbai", "Delhi", "Bengaluru", "Hyderabad", "Pune", "Chennai", "Kolkata", "Jaipur", "Singapore"]


def _city(r: _R) -> _Pred:
    if r.random() < 0.6:
        c = r.choice(_CITIES)
        return _Pred("home_city", f'home_city = "{c}"', f"home_city = '{c}'")
    seg, sql = _quote_list(r.sample(_CITIES, r.choice([2, 3, 4])))
    return _Pred("home_city", f"home_city in {seg}", f"home_city IN ({sql})")


def _engagement(r: _R) -> _Pred:
    if r.random() < 0.5:
        lo = r.choice([10, 20, 30, 40])
        hi = lo + r.choice([20, 40, 50])
        return _Pred("engagement_score", f"engagement_score between {lo} and {hi}",
                     f"engagement_score BETWEEN {lo} AND {hi}")
    n = r.choice([50, 60, 70, 80])
    return _Pred("engagement_score", f"engagement_score >= {n}", f"engagement_score >= {n}")


def _churn(r: _R) -> _Pred:
    n = r.choice([50, 60, 70, 80, 90])
    op = r.choice([">=", "<"])
    return _Pred("churn_risk_score", f"churn_risk_score {op} {n}", f"churn_risk_score {op} {n}")


#: Predicate makers and how often each shows up in real rules (weights, not percents).
_MAKERS: list[tuple[Callable[[_R], _Pred], int]] = [
    (_ltv, 10), (_recent_booking, 8), (_days_since, 8), (_tier, 8), (_consent, 8),
    (_email, 6), (_interests, 6), (_city, 5), (_engagement, 5), (_bookings, 4),
    (_status, 4), (_avg_booking, 3), (_signup, 3), (_channel, 3), (_churn, 3),
    (_nights, 2), (_points, 2), (_first_name, 1), (_phone, 1),
]


def _predicates(r: _R, n: int) -> list[_Pred]:
    makers, weights = zip(*_MAKERS)
    out: list[_Pred] = []
    used: set[str] = set()
    while len(out) < n:
        p = r.weighted(makers, weights)(r)
        if p.field in used:
            continue
        used.add(p.field)
        out.append(p)
    return out


def _sql_or(a: _Pred, b: _Pred) -> str:
    def part(p: _Pred) -> str:
        return f"({p.sql})" if p.compound else p.sql

    return f"({part(a)} OR {part(b)})"


def make_rule(r: _R) -> Rule:
    preds = _predicates(r, r.choice([3, 4]))
    texts = [p.text for p in preds]
    sqls = [p.sql for p in preds]
    if r.random() < 0.2:
        # One `(a or b)` group, as in "Gold, or spent a lot" audiences.
        a, b = preds[-2], preds[-1]
        texts[-2:] = [f"({a.text} or {b.text})"]
        sqls[-2:] = [_sql_or(a, b)]
    text = " and ".join(texts)
    sql = f"SELECT guest_id FROM guest_profile WHERE {' AND '.join(sqls)} ORDER BY guest_id"
    return Rule(text, sql)


def generate(n: int = 1000, seed: int = SEED) -> list[Rule]:
    """``n`` rules, the same ones for the same seed."""
    r = _R(seed)
    return [make_rule(r) for _ in range(n)]
