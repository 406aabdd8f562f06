"""The `sizing` figure's baselines, written by hand for each example segment of
``examples/hospitality/*.seg`` with the language's semantics (docs/language.md):

* a comparison with a NULL is unknown, and only TRUE rows are members;
* ``f within N days`` is ``as_of - N <= date(f) <= as_of`` on UTC calendar dates;
  ``days_since(f) >= N`` is ``date(f) <= as_of - N``;
* ``in segment x`` is two-valued: ``not in segment lapsed`` includes the guests
  ``lapsed`` cannot judge;
* ``ends with ... ignoring case`` folds ASCII A-Z only.

``numpy_sizers`` works on the encodings the columnar evaluator reads: the profile
:class:`segdsl.data.tables.Table`'s own columns (decimals as scaled int64, timestamps as int64
µs, text as object arrays, ``valid`` masks for NULL) and the evaluator's views of them
(enums as int8 codes, tag sets as uint64 bitsets; built before timing, as the
evaluator's are). ``polars_sizers`` works on a polars DataFrame of the same data.
Each returns ``{segment: function() -> size}``; the figure checks that every size
equals segdsl's before it times anything. Each segment is computed on its own, as
segdsl does: no mask is shared between segments.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from bench.workload import AS_OF

UTC = dt.UTC
AS_OF_DAY = AS_OF.astimezone(UTC).date()
EPOCH_DAY = dt.date(1970, 1, 1)
US_PER_DAY = 86_400_000_000


def midnight_us(day: dt.date) -> int:
    """UTC midnight starting ``day``, in µs since the epoch (the timestamp encoding)."""
    return (day - EPOCH_DAY).days * US_PER_DAY


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def days(n: int) -> dt.date:
    return AS_OF_DAY + dt.timedelta(days=n)


# `within 365 days`: [midnight(as_of - 365), midnight(as_of + 1)).
WITHIN_365 = (days(-365), days(1))
# `days_since_booking >= 180`: date <= as_of - 180, i.e. before midnight(as_of - 179).
LAPSED_BEFORE = days(-179)
# `days_since_booking <= 90`: date >= as_of - 90.
RECENT_FROM = days(-90)

GMAIL = "@gmail.com"
SPA = frozenset({"spa", "wellness"})
BOARD = (1001, 1002, 1003)


def numpy_sizers(table) -> dict:
    from segdsl.backends.memory.columnar import enum_codes, tag_bits

    c = table.columns
    fields = table.schema.fields
    money = 10 ** (table.schema.fields["ltv"].type.scale or 0)  # ltv is in units of its last place
    key = c["guest_id"].values
    ltv = c["ltv"].values  # NOT NULL: 0 without bookings
    total = c["total_bookings"].values  # NOT NULL
    last, last_ok = c["last_booking_at"].values, c["last_booking_at"].valid
    opt, opt_ok = c["email_opt_in"].values, c["email_opt_in"].valid
    tier = enum_codes(fields["loyalty_tier"], c["loyalty_tier"])  # -1 where NULL
    tiers = fields["loyalty_tier"].type.values
    gold, platinum = np.int8(tiers.index("Gold")), np.int8(tiers.index("Platinum"))
    email, email_ok = c["email"].values, c["email"].valid
    churn, churn_ok = c["churn_risk_score"].values, c["churn_risk_score"].valid
    engage, engage_ok = c["engagement_score"].values, c["engagement_score"].valid
    status = enum_codes(fields["status"], c["status"])  # NOT NULL
    active_code = fields["status"].type.values.index("ACTIVE")
    interests, tag_bit = tag_bits(c["interests"])  # NOT NULL
    spa = np.uint64(sum(tag_bit.get(t, 0) for t in SPA))
    n = len(key)
    lo365, hi365 = np.int64(midnight_us(WITHIN_365[0])), np.int64(midnight_us(WITHIN_365[1]))
    lapsed_before = np.int64(midnight_us(LAPSED_BEFORE))
    recent_from = np.int64(midnight_us(RECENT_FROM))

    def within_365():
        return last_ok & (last >= lo365) & (last < hi365)

    def lapsed():
        return last_ok & (last < lapsed_before)

    def high_value():
        return (ltv >= 150_000 * money) & within_365()

    def win_back():
        return lapsed() & (ltv >= 50_000 * money) & opt_ok & opt

    def frequent_bookers():
        return (total >= 6) & last_ok & (last >= recent_from)

    def spa_lovers():
        return ((interests & spa) != 0) & ~lapsed()

    def gmail_gold():
        # The e-mail test runs only on Gold and Platinum rows with an e-mail. The last 10
        # characters, lower-cased, equal the needle: Unicode lower() and ASCII folding
        # differ only where a non-ASCII letter lowers to ASCII (K, the Kelvin sign, to
        # k) or changes length (İ), and neither can produce "@gmail.com".
        rows = np.flatnonzero(((tier == gold) | (tier == platinum)) & email_ok)
        out = np.zeros(n, dtype=bool)
        out[rows] = np.fromiter((s[-10:].lower() == GMAIL for s in email[rows]), dtype=bool, count=len(rows))
        return out

    def board_members():
        return np.isin(key, np.array(BOARD, dtype=np.int64))

    def likely_to_churn():
        return churn_ok & (churn >= 70) & (status == active_code) & within_365()

    def all_customers():
        return status == active_code

    def active_members():
        return (status == active_code) & within_365()

    def high_engagement():
        return engage_ok & (engage >= 70)

    def at_risk():
        return churn_ok & (churn >= 70)

    def email_subscribers():
        return opt_ok & opt & email_ok

    masks = {
        "high_value": high_value, "lapsed": lapsed, "win_back": win_back, "frequent_bookers": frequent_bookers,
        "spa_lovers": spa_lovers, "gmail_gold": gmail_gold, "board_members": board_members,
        "likely_to_churn": likely_to_churn, "all_customers": all_customers, "active_members": active_members,
        "high_engagement": high_engagement, "at_risk": at_risk, "email_subscribers": email_subscribers,
    }
    return {name: (lambda m=m: int(np.count_nonzero(m()))) for name, m in masks.items()}


def polars_sizers(df) -> dict:
    """Hand-written polars expressions; a boolean's NULL is unknown, ``sum`` skips it."""
    import polars as pl

    col = pl.col
    money = 150_000, 50_000
    lo365, hi365 = midnight(WITHIN_365[0]), midnight(WITHIN_365[1])
    last = col("last_booking_at")
    within_365 = (last >= lo365) & (last < hi365)
    lapsed = last < midnight(LAPSED_BEFORE)
    active = col("status") == "ACTIVE"
    exprs = {
        "high_value": (col("ltv") >= money[0]) & within_365,
        "lapsed": lapsed,
        "win_back": lapsed & (col("ltv") >= money[1]) & col("email_opt_in"),
        "frequent_bookers": (col("total_bookings") >= 6) & (last >= midnight(RECENT_FROM)),
        "spa_lovers": (col("interests").list.contains("spa") | col("interests").list.contains("wellness"))
        & ~lapsed.fill_null(False),
        # As in numpy_sizers: Unicode lower-casing of the last 10 characters is exact here.
        "gmail_gold": col("loyalty_tier").is_in(["Gold", "Platinum"])
        & (col("email").str.slice(-10).str.to_lowercase() == GMAIL),
        "board_members": col("guest_id").is_in(list(BOARD)),
        "likely_to_churn": (col("churn_risk_score") >= 70) & active & within_365,
        "all_customers": active,
        "active_members": active & within_365,
        "high_engagement": col("engagement_score") >= 70,
        "at_risk": col("churn_risk_score") >= 70,
        "email_subscribers": col("email_opt_in") & col("email").is_not_null(),
    }
    return {name: (lambda e=e: int(df.select(e.sum()).item() or 0)) for name, e in exprs.items()}
