"""The synthetic CRM: deterministic, true to the schemas, and consistent in time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from segdsl import synth
from segdsl.schema import Kind, load_schema

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SEEDS = {
    # domain: (schema, committed seed file, rows in it)
    "hospitality": ("examples/hospitality/schema.toml", "seeds/hospitality/guest_profile.csv", 3000),
    "golf": ("examples/golf/schema.toml", "seeds/golf/member_profile.csv", 1500),
}
PY_TYPES = {
    Kind.INT: int, Kind.DECIMAL: Decimal, Kind.FLOAT: float, Kind.TEXT: str, Kind.BOOL: bool,
    Kind.DATE: dt.date, Kind.TIMESTAMP: dt.datetime, Kind.ENUM: str, Kind.TAGS: list,
}


def schema_of(domain):
    schema, diags = load_schema(ROOT / SEEDS[domain][0])
    assert schema is not None, diags
    return schema


@pytest.fixture(scope="module", params=sorted(SEEDS))
def sample(request):
    domain = request.param
    return domain, schema_of(domain), synth.generate(domain, 600, 7, AS_OF)


# ------------------------------------------------------------------ determinism


@pytest.mark.parametrize("domain", sorted(SEEDS))
def test_same_seed_same_rows_other_seed_other_rows(domain):
    a = synth.generate(domain, 200, 11, AS_OF)
    assert a == synth.generate(domain, 200, 11, AS_OF)
    b = synth.generate(domain, 200, 12, AS_OF)
    assert a != b
    assert sum(x != y for x, y in zip(a, b)) > 150  # not one stray difference


@pytest.mark.parametrize("domain", sorted(SEEDS))
def test_a_shorter_run_is_a_prefix_of_a_longer_one(domain):
    assert synth.generate(domain, 50, 7, AS_OF) == synth.generate(domain, 120, 7, AS_OF)[:50]


def test_unknown_domain_is_refused():
    with pytest.raises(ValueError, match="unknown domain"):
        synth.generate("casino", 1, 7, AS_OF)


# ----------------------------------------------------------- schema conformance


def test_rows_have_exactly_the_schema_columns(sample):
    domain, schema, rows = sample
    columns = [f.column for f in schema.fields.values() if not f.days_since]
    for row in rows:
        assert list(row) == columns


def test_values_have_the_field_types(sample):
    domain, schema, rows = sample
    for f in schema.fields.values():
        if f.days_since:
            continue
        values = [row[f.column] for row in rows]
        if not f.nullable:
            assert None not in values, f"{f.name} is not nullable"
        for v in values:
            if v is None:
                continue
            assert type(v) is PY_TYPES[f.kind], (f.name, v)
            if f.kind is Kind.DECIMAL:
                assert -v.as_tuple().exponent == f.type.scale, (f.name, v)
                assert len(v.as_tuple().digits) <= f.type.precision, (f.name, v)
            elif f.kind is Kind.ENUM:
                assert v in f.type.values, (f.name, v)
            elif f.kind is Kind.TIMESTAMP:
                assert v.utcoffset() == dt.timedelta(0) and v.microsecond == 0, (f.name, v)
            elif f.kind is Kind.TAGS:
                assert all(type(t) is str for t in v) and len(set(v)) == len(v), (f.name, v)


def test_keys_are_unique_and_start_at_1001(sample):
    domain, schema, rows = sample
    keys = [row[schema.key.column] for row in rows]
    assert keys == list(range(1001, 1001 + len(rows)))


def test_emails_are_unique_ignoring_case(sample):
    domain, schema, rows = sample
    emails = [row["email"].lower() for row in rows if row["email"] is not None]
    assert len(emails) == len(set(emails))


# --------------------------------------------------------------- consistency


def test_nothing_lies_after_the_as_of_instant(sample):
    domain, schema, rows = sample
    for row in rows:
        for f in schema.fields.values():
            v = row.get(f.column) if not f.days_since else None
            if f.kind is Kind.TIMESTAMP and v is not None:
                assert v <= AS_OF, (f.name, v)
            elif f.kind is Kind.DATE and v is not None:
                assert v <= AS_OF.date(), (f.name, v)


def test_hospitality_bookings_are_consistent():
    rows = synth.generate("hospitality", 800, 7, AS_OF)
    for r in rows:
        if r["total_bookings"] == 0:
            assert r["lifetime_value"] == Decimal("0.00")
            assert r["avg_booking_value"] is None and r["last_booking_at"] is None
            assert r["total_nights"] == 0 and r["churn_risk_score"] is None
        else:
            assert r["last_booking_at"].date() >= r["signup_date"]
            assert r["total_nights"] >= r["total_bookings"]
            assert r["avg_booking_value"] > 0 and r["lifetime_value"] > 0
            assert 0 <= r["churn_risk_score"] <= 100
        assert r["email_opt_in"] is False or r["email"] is not None
        assert set(r["interests"]) <= set(synth.HOSPITALITY_INTERESTS)
        assert (r["preferred_channel"] is None) == (r["engagement_score"] is None)


def test_golf_members_are_consistent():
    rows = synth.generate("golf", 800, 7, AS_OF)
    for r in rows:
        prospect = r["membership_status"] == "PROSPECT"
        assert (r["membership_tier"] is None) == prospect
        assert (r["joined_on"] is None) == prospect
        if r["joined_on"] is not None and r["last_tee_time_at"] is not None:
            assert r["last_tee_time_at"].date() >= r["joined_on"]
        if r["handicap"] is not None:
            assert Decimal("-2.0") <= r["handicap"] <= Decimal("36.0")
        if r["booking_count_30d"]:
            assert (AS_OF.date() - r["last_tee_time_at"].date()).days < 30
        if r["churn_risk_score"] is not None:
            assert not prospect and 0 <= r["churn_risk_score"] <= 100
        assert r["email_opt_in"] is False or r["email"] is not None
        assert set(r["interests"]) <= set(synth.GOLF_INTERESTS)


def test_hospitality_has_the_shapes_the_examples_rely_on():
    rows = synth.generate("hospitality", 3000, 7, AS_OF)
    recency = [(AS_OF.date() - r["last_booking_at"].date()).days for r in rows if r["last_booking_at"]]
    n = len(rows)
    assert 0.05 * n < sum(r["lifetime_value"] >= 150_000 for r in rows) < 0.2 * n
    assert sum(r["lifetime_value"] < 30_000 for r in rows) > 0.4 * n  # many small
    assert sum(d > 180 for d in recency) > 0.2 * n and sum(d <= 30 for d in recency) > 0.1 * n
    assert sum(r["total_bookings"] == 0 for r in rows) > 0.05 * n
    tiers = [r["loyalty_tier"] for r in rows]
    assert tiers.count("Blue") > n / 2 and {"Silver", "Gold", "Platinum"} <= set(tiers)
    emails = [r["email"] for r in rows if r["email"]]
    assert any(e.isupper() for e in emails)
    assert sum(e.lower().endswith("@gmail.com") for e in emails) > 0.2 * n
    assert any(r["sms_opt_in"] is None for r in rows) and any(not r["interests"] for r in rows)


# ------------------------------------------------------------- committed seeds


@pytest.mark.parametrize("domain", sorted(SEEDS))
def test_committed_seed_equals_a_fresh_generation(domain, tmp_path):
    schema_path, seed_path, n = SEEDS[domain]
    out = tmp_path / "fresh.csv"
    code = synth.main(["--domain", domain, "--n", str(n), "--seed", "7", "--as-of", "2026-11-01",
                       "--schema", str(ROOT / schema_path), "--out", str(out)])
    assert code == 0
    committed = (ROOT / seed_path).read_bytes()
    assert out.read_bytes() == committed, (
        f"{seed_path} differs from the generator's output; regenerate it with the command "
        "in seeds/README.md instead of editing it"
    )


@pytest.mark.parametrize("domain", sorted(SEEDS))
def test_committed_seed_reads_back_as_the_generated_rows(domain):
    from segdsl.data import read_csv

    schema_path, seed_path, n = SEEDS[domain]
    schema = schema_of(domain)
    table = read_csv(schema, ROOT / seed_path)
    rows = synth.generate(domain, n, 7, AS_OF)
    assert table.n_rows == n
    tags = [f.column for f in schema.fields.values() if f.kind is Kind.TAGS]
    for got, want in zip(table.records(), rows):
        want = dict(want)
        for column in tags:
            got[column], want[column] = sorted(got[column]), sorted(want[column])
        assert got == want
