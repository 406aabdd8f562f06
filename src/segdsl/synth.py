"""Synthetic CRM profiles for the example projects: deterministic, and no real people.

``generate("hospitality", ...)`` yields rows of ``guest_profile`` and
``generate("golf", ...)`` rows of ``member_profile`` (``examples/*/schema.toml``), keyed
by column name. The same ``(domain, n, seed, as_of)`` always gives the same rows, and
the first ``k`` rows of a run do not depend on ``n``. Every draw comes from
``random.Random(seed).random()``, the one method whose sequence Python promises to keep
across versions (``randrange``, ``choice`` and ``shuffle`` changed in Python 3.2).

``python -m segdsl.synth`` writes the rows as a seed CSV with :func:`segdsl.data.write_csv`
(see ``seeds/README.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

UTC = dt.timezone.utc
DOMAINS = ("hospitality", "golf")
FIRST_ID = 1001

HOSPITALITY_INTERESTS = ("spa", "wellness", "golf", "business", "family", "beach", "food")
GOLF_INTERESTS = ("coaching", "competitions", "social", "juniors", "seniors", "travel")

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
_EMAIL_DOMAINS = (
    ("gmail.com", 44), ("yahoo.co.in", 12), ("outlook.com", 11), ("hotmail.com", 6),
    ("rediffmail.com", 5), ("icloud.com", 5), ("example.com", 17),
)
_CITIES = (
    ("Mumbai", 16), ("Delhi", 14), ("Bengaluru", 13), ("Chennai", 8), ("Hyderabad", 8),
    ("Pune", 7), ("Kolkata", 6), ("Ahmedabad", 5), ("Jaipur", 4), ("Kochi", 3),
    ("Chandigarh", 3), ("Lucknow", 3), ("Gurugram", 4), ("Dubai", 2), ("Singapore", 2),
    ("London", 1), ("Zürich", 1), ("São Paulo", 1),
)
# Relative demand by calendar month (index 0 = January).
_HOTEL_SEASON = (1.0, 0.95, 0.8, 0.6, 0.85, 0.75, 0.35, 0.35, 0.5, 0.9, 1.0, 1.0)
_GOLF_SEASON = (1.0, 1.0, 0.9, 0.6, 0.4, 0.35, 0.3, 0.3, 0.45, 0.8, 1.0, 1.0)


class _Draw:
    """Distributions built on ``Random.random()`` alone (see the module docstring)."""

    def __init__(self, seed: int):
        self._r = random.Random(seed)

    def u(self) -> float:
        return self._r.random()

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def int_between(self, lo: int, hi: int) -> int:
        """Uniform integer in ``[lo, hi]``."""
        return lo + min(int(self._r.random() * (hi - lo + 1)), hi - lo)

    def pick(self, items: Sequence):
        return items[self.int_between(0, len(items) - 1)]

    def weighted(self, pairs: Sequence[tuple[object, float]]):
        total = sum(w for _, w in pairs)
        x = self._r.random() * total
        for item, w in pairs:
            x -= w
            if x < 0:
                return item
        return pairs[-1][0]

    def normal(self, mu: float, sigma: float) -> float:
        # Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        r = math.sqrt(-2.0 * math.log(1.0 - self._r.random()))
        return mu + sigma * r * math.cos(2.0 * math.pi * self._r.random())

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.normal(0.0, sigma))

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self._r.random())

    def poisson(self, lam: float, cap: int) -> int:
        limit, k, p = math.exp(-lam), 0, self._r.random()
        while p > limit and k < cap:
            k += 1
            p *= self._r.random()
        return k

    def subset(self, vocabulary: Sequence[str], k: int) -> list[str]:
        """``k`` distinct items, listed in vocabulary order."""
        pool = list(range(len(vocabulary)))
        chosen = sorted(pool.pop(self.int_between(0, len(pool) - 1)) for _ in range(min(k, len(pool))))
        return [vocabulary[i] for i in chosen]


# ----------------------------------------------------------------------- public API


def generate(domain: str, n: int, seed: int, as_of: dt.datetime) -> list[dict]:
    """``n`` synthetic profile rows of ``domain`` as of the instant ``as_of``.

    Values are Python values of each column's type: int, Decimal (quantized to the
    field's scale, half-up), str, bool, date, aware UTC datetime (whole seconds),
    list of str for tags, and None for NULL. Keys start at 1001."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain `{domain}`; use one of {', '.join(DOMAINS)}")
    if n < 0:
        raise ValueError("n must not be negative")
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    as_of = as_of.astimezone(UTC)
    draw = _Draw(seed)
    make = _guest if domain == "hospitality" else _member
    taken: set[str] = set()  # email addresses handed out so far (lower case)
    return [make(draw, FIRST_ID + i, as_of, taken) for i in range(n)]


# ---------------------------------------------------------------------- shared parts


def _money(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _email(draw: _Draw, first: str, last: str, key: int, taken: set[str]) -> str:
    local = f"{_ascii(first).lower()}.{last.lower()}"
    if draw.chance(0.6):
        local += str(draw.int_between(1, 999))
    address = f"{local}@{draw.weighted(_EMAIL_DOMAINS)}"
    if address in taken:  # one address per profile, as the contact lists assume
        address = address.replace("@", f".{key}@")
    taken.add(address)
    if draw.chance(0.025):
        return address.upper()  # CRMs keep what the guest typed: ANITA.RAO@GMAIL.COM
    if draw.chance(0.02):
        local, domain = address.split("@")
        return f"{local.capitalize()}@{domain.capitalize()}"
    return address


def _phone(draw: _Draw) -> str:
    return "+91" + str(draw.int_between(6, 9)) + "".join(str(draw.int_between(0, 9)) for _ in range(9))


def _seasonal_day(draw: _Draw, as_of_day: dt.date, recency, season: Sequence[float]) -> int:
    """A recency in days drawn by ``recency()``, thinned by the month it lands in."""
    days = recency()
    for _ in range(8):
        if draw.u() < season[(as_of_day - dt.timedelta(days=days)).month - 1]:
            break
        days = recency()
    return days


def _instant(day: dt.date, seconds: int, as_of: dt.datetime) -> dt.datetime:
    """``day`` at ``seconds`` after UTC midnight, moved back a day at a time so that it
    never lies after ``as_of``."""
    ts = dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(seconds=seconds)
    while ts > as_of:
        ts -= dt.timedelta(days=1)
    return ts


def _logistic_score(z: float) -> int:
    return int(Decimal(repr(100.0 / (1.0 + math.exp(-z)))).quantize(Decimal(1), ROUND_HALF_UP))


# ----------------------------------------------------------------------- hospitality


def _guest(draw: _Draw, guest_id: int, as_of: dt.datetime, taken: set[str]) -> dict:
    today = as_of.date()
    first, last = draw.pick(_FIRST), draw.pick(_LAST)
    # Profiles reach back nine years, newer ones more common.
    tenure = 1 + int(3286 * draw.u() ** 1.4)
    signup = today - dt.timedelta(days=tenure)
    years = tenure / 365.25

    p_none = 0.55 if tenure < 60 else 0.13
    bookings = 0
    if not draw.chance(p_none):
        activity = draw.lognormal(0.75, 0.9)
        bookings = 1 + draw.poisson(min(activity * years, 40.0), cap=60)

    ltv, avg, nights, last_at, recency = Decimal("0.00"), None, 0, None, None
    if bookings:
        # Heavy-tailed spend: a guest's nightly rate is lognormal, stays are short.
        rate = draw.lognormal(6_500.0, 0.6)
        gross = 0.0
        for _ in range(bookings):
            stay = 1 + min(int(draw.exponential(1.3)), 13)
            nights += stay
            gross += rate * stay * (0.85 + 0.35 * draw.u())
        refund = gross * 0.3 * draw.u() / bookings if draw.chance(0.04) else 0.0
        ltv = _money(gross - refund)
        avg = _money(gross / bookings)

        # Recency: frequent guests tend to be recent; a long tail has lapsed.
        p_recent = _clamp(0.25 + 0.03 * bookings, 0.25, 0.6)

        def draw_recency() -> int:
            r = draw.u()
            if r < p_recent:
                days = int(draw.exponential(35.0))
            elif r < p_recent + 0.25:
                days = draw.int_between(60, 240)
            else:
                days = draw.int_between(180, max(180, tenure))
            return min(days, tenure)

        recency = _seasonal_day(draw, today, draw_recency, _HOTEL_SEASON)
        # Check-in, in UTC: mostly the afternoon in India (08:30 UTC is 14:00 IST),
        # some late arrivals whose UTC date is the day before the local one.
        if draw.chance(0.85):
            seconds = draw.int_between(5 * 3600, 11 * 3600)
        else:
            seconds = draw.int_between(17 * 3600, 24 * 3600 - 1)
        last_at = _instant(today - dt.timedelta(days=recency), seconds, as_of)
        signup = min(signup, last_at.date())
        recency = (today - last_at.date()).days

    tier = "Blue"
    for threshold, name in ((10, "Silver"), (25, "Gold"), (50, "Platinum")):
        if nights >= threshold:
            tier = name
    if tier != "Platinum" and bookings and draw.chance(0.04):
        tier = ("Silver", "Gold", "Platinum")[("Blue", "Silver", "Gold").index(tier)]  # status match
    multiplier = {"Blue": 1.0, "Silver": 1.25, "Gold": 1.5, "Platinum": 2.0}[tier]
    points = int(float(ltv) / 100 * multiplier * (1 - 0.7 * draw.u())) if bookings else 0

    status = "INACTIVE" if draw.chance(0.03) else "ACTIVE"
    email = _email(draw, first, last, guest_id, taken) if draw.chance(0.86) else None
    phone = _phone(draw) if draw.chance(0.74) else None
    city = draw.weighted(_CITIES) if draw.chance(0.92) else None
    active = status == "ACTIVE"
    email_opt_in = email is not None and active and draw.chance(0.62)
    if phone is not None:
        sms_opt_in = None if draw.chance(0.25) else (active and draw.chance(0.55))
    else:
        sms_opt_in = None if draw.chance(0.7) else False
    push_opt_in = active and draw.chance(0.3)

    engagement = None
    has_history = (email is not None or phone is not None or push_opt_in) and not draw.chance(0.12)
    if has_history and (bookings or draw.chance(0.5)):
        warmth = math.exp(-recency / 120.0) if recency is not None else 0.1
        raw = 10 + 45 * warmth + 12 * email_opt_in + 8 * bool(sms_opt_in) + 10 * push_opt_in
        engagement = int(_clamp(round(draw.normal(raw, 12.0)), 0, 100))
    channel = None
    if engagement is not None:
        options = [("email", 5 if email_opt_in else 1), ("sms", 3 if sms_opt_in else 0.5),
                   ("push", 3 if push_opt_in else 0.3)]
        channel = draw.weighted(options)

    # Placeholder churn score, replaced later by the project's trained churn model:
    #   z = -2.0 + 0.012 * min(days_since_booking, 540) - 0.18 * min(total_bookings, 10)
    #       - 0.02 * engagement (30 when unknown) + N(0, 0.6);  score = 100 / (1 + e^-z)
    # NULL for guests with no booking: there is nothing to lapse from.
    churn = None
    if bookings:
        z = (-2.0 + 0.012 * min(recency, 540) - 0.18 * min(bookings, 10)
             - 0.02 * (engagement if engagement is not None else 30) + draw.normal(0.0, 0.6))
        churn = _logistic_score(z)

    interests = [] if draw.chance(0.18) else draw.subset(HOSPITALITY_INTERESTS, draw.weighted(((1, 5), (2, 3), (3, 2))))

    return {
        "guest_id": guest_id,
        "first_name": first,
        "email": email,
        "phone": phone,
        "home_city": city,
        "status": status,
        "signup_date": signup,
        "lifetime_value": ltv,
        "avg_booking_value": avg,
        "total_bookings": bookings,
        "total_nights": nights,
        "last_booking_at": last_at,
        "loyalty_tier": tier,
        "loyalty_points": points,
        "email_opt_in": email_opt_in,
        "sms_opt_in": sms_opt_in,
        "push_opt_in": push_opt_in,
        "preferred_channel": channel,
        "engagement_score": engagement,
        "churn_risk_score": churn,
        "interests": interests,
    }


# ------------------------------------------------------------------------------ golf


def _member(draw: _Draw, member_id: int, as_of: dt.datetime, taken: set[str]) -> dict:
    today = as_of.date()
    first, last = draw.pick(_FIRST), draw.pick(_LAST)
    state = draw.weighted((("ACTIVE", 74), ("LAPSED", 12), ("SUSPENDED", 4), ("PROSPECT", 10)))
    prospect = state == "PROSPECT"
    status = "INACTIVE" if draw.chance(0.15 if state == "LAPSED" else 0.03) else "ACTIVE"
    tier = None if prospect else draw.weighted((("Bronze", 34), ("Silver", 33), ("Gold", 22), ("Platinum", 11)))
    tenure = None if prospect else 30 + int(9000 * draw.u() ** 1.3)
    joined = None if tenure is None else today - dt.timedelta(days=tenure)

    handicap = None
    if not draw.chance(0.7 if prospect else 0.08):
        handicap = Decimal(repr(_clamp(draw.normal(17.0, 8.0), -2.0, 36.0))).quantize(
            Decimal("0.1"), ROUND_HALF_UP)

    # Tee times: ACTIVE members play (those with a booking this month played lately),
    # LAPSED ones stopped long ago, and a few prospects had a trial round.
    bookings = 0
    recency = None
    if state == "ACTIVE" and not draw.chance(0.05):
        bookings = draw.poisson(draw.lognormal(1.6, 0.6), cap=12)
        if bookings:
            recency = _seasonal_day(draw, today, lambda: draw.int_between(0, 29), _GOLF_SEASON)
        else:
            recency = _seasonal_day(draw, today, lambda: 30 + int(draw.exponential(90.0)), _GOLF_SEASON)
    elif state == "LAPSED" and not draw.chance(0.1):
        recency = _seasonal_day(draw, today, lambda: draw.int_between(120, 1500), _GOLF_SEASON)
    elif state == "SUSPENDED":
        recency = _seasonal_day(draw, today, lambda: draw.int_between(30, 400), _GOLF_SEASON)
    elif prospect and draw.chance(0.2):
        recency = _seasonal_day(draw, today, lambda: draw.int_between(1, 90), _GOLF_SEASON)
    last_at = None
    if recency is not None:
        if tenure is not None:
            recency = min(recency, tenure)
        # Tee times from 06:00 to 16:00 in India: 00:30 to 10:30 UTC.
        last_at = _instant(today - dt.timedelta(days=recency), draw.int_between(1800, 37800), as_of)
        if joined is not None and last_at.date() < joined:
            joined = last_at.date()
        recency = (today - last_at.date()).days

    tournaments = 0
    if state == "ACTIVE":
        skill = 0.0 if handicap is None else max(0.0, (20.0 - float(handicap)) / 8.0)
        tournaments = draw.poisson(0.6 + skill, cap=20)
    elif state == "LAPSED":
        tournaments = draw.poisson(0.15, cap=5)

    if state == "SUSPENDED":
        late = draw.int_between(2, 6)
    elif state == "LAPSED":
        late = draw.weighted(((0, 60), (1, 20), (2, 12), (3, 8)))
    elif state == "ACTIVE":
        late = draw.weighted(((0, 86), (1, 9), (2, 4), (3, 1)))
    else:
        late = 0

    email = _email(draw, first, last, member_id, taken) if draw.chance(0.9) else None
    phone = _phone(draw) if draw.chance(0.8) else None
    email_opt_in = email is not None and status == "ACTIVE" and draw.chance(0.66)
    sms_consent = None if draw.chance(0.35) else (phone is not None and draw.chance(0.5))

    engagement = None
    if not draw.chance(0.3 if prospect else 0.1):
        warmth = math.exp(-recency / 90.0) if recency is not None else 0.15
        raw = 12 + 40 * warmth + 3 * min(bookings, 6) + 10 * email_opt_in + 4 * tournaments
        engagement = int(_clamp(round(draw.normal(raw, 12.0)), 0, 100))

    # Placeholder churn score, replaced later by the project's trained churn model:
    #   z = -1.5 + 0.01 * min(days_since_tee_time, 540) - 0.35 * booking_count_30d
    #       + 0.5 * late_payments_12m - 0.02 * engagement (30 when unknown)
    #       + 1.5 if LAPSED, 1.0 if SUSPENDED, + N(0, 0.6);  score = 100 / (1 + e^-z)
    # NULL for prospects and for members who never played: no history to judge.
    churn = None
    if not prospect and recency is not None:
        z = (-1.5 + 0.01 * min(recency, 540) - 0.35 * bookings + 0.5 * late
             - 0.02 * (engagement if engagement is not None else 30)
             + {"LAPSED": 1.5, "SUSPENDED": 1.0}.get(state, 0.0) + draw.normal(0.0, 0.6))
        churn = _logistic_score(z)

    interests: list[str] = []
    if not draw.chance(0.15):
        interests = draw.subset(GOLF_INTERESTS, draw.weighted(((1, 5), (2, 3), (3, 2))))
        if tournaments >= 2 and "competitions" not in interests and draw.chance(0.7):
            interests = [t for t in GOLF_INTERESTS if t in interests or t == "competitions"]

    return {
        "member_id": member_id,
        "first_name": first,
        "email": email,
        "phone": phone,
        "status": status,
        "membership_status": state,
        "membership_tier": tier,
        "joined_on": joined,
        "late_payments_12m": late,
        "handicap": handicap,
        "booking_count_30d": bookings,
        "last_tee_time_at": last_at,
        "tournaments_12m": tournaments,
        "engagement_score": engagement,
        "email_opt_in": email_opt_in,
        "sms_consent": sms_consent,
        "churn_risk_score": churn,
        "interests": interests,
    }


# ------------------------------------------------------------------------------- CLI


def _default_schema(domain: str) -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / "examples" / domain / "schema.toml"
        if candidate.is_file():
            return candidate
    return Path("examples") / domain / "schema.toml"


def main(argv: Sequence[str] | None = None) -> int:
    from segdsl.data import write_csv
    from segdsl.schema import load_schema
    from segdsl.timeutil import parse_as_of

    parser = argparse.ArgumentParser(prog="python -m segdsl.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", choices=DOMAINS, required=True)
    parser.add_argument("--n", type=int, required=True, help="number of profiles")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", required=True, help="YYYY-MM-DD (UTC midnight) or an ISO timestamp")
    parser.add_argument("--schema", type=Path, help="schema.toml (default: examples/DOMAIN/schema.toml)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        as_of = parse_as_of(args.as_of)
    except ValueError as exc:
        parser.error(str(exc))
    if args.n < 0:
        parser.error("--n must not be negative")
    schema, diags = load_schema(args.schema or _default_schema(args.domain))
    if schema is None:
        for d in diags:
            print(f"error[{d.code}]: {d.message}", file=sys.stderr)
        return 1
    rows = generate(args.domain, args.n, args.seed, as_of)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(schema, rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
