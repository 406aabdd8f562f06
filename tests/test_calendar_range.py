"""Dates and timestamps over the whole calendar segdsl accepts (years 0001-9999 in UTC)
are stored exactly and give the same members on every engine.

Each engine stores these values differently (native DATE / TIMESTAMPTZ on Postgres and
DuckDB, DATE / DATETIME(6) in UTC on MariaDB, fixed-width text on SQLite); SQLite once
stored a timestamp of year 999 as ``'999-...'`` while rules compared it with ``'0999-...'``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.sql import compile_rule
from segdsl.check.checker import check_expression
from segdsl.data.engines import connect, fetch_keys, load_records, storage_value
from segdsl.data.tables import DataError, Table
from segdsl.ir.semantics import timestamp_text
from segdsl.check.traits import schema_from_dict
from segdsl.schema.model import Kind
from segdsl.syntax.parser import parse_expression

UTC = dt.timezone.utc
SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "calendar_range",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "joined": {"type": "date"},
            "ts": {"type": "timestamp"},
            "since": {"days_since": "ts"},
        },
    }
)
assert SCHEMA is not None

DAYS = [dt.date(1, 1, 1), dt.date(1, 1, 2), dt.date(99, 12, 31), dt.date(100, 1, 1), dt.date(999, 12, 31),
        dt.date(1000, 1, 1), dt.date(1582, 10, 10), dt.date(1969, 12, 31), dt.date(2000, 2, 29),
        dt.date(9999, 12, 30), dt.date(9999, 12, 31)]
TIMESTAMPS = [
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(1, 1, 1, 23, 59, 59, 999_999, tzinfo=UTC),
    dt.datetime(99, 12, 31, 12, tzinfo=UTC),
    dt.datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    dt.datetime(1000, 1, 1, tzinfo=UTC),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    dt.datetime(9999, 12, 31, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]
RECORDS = [
    {"id": i + 1, "joined": DAYS[i % len(DAYS)], "ts": TIMESTAMPS[i % len(TIMESTAMPS)]}
    for i in range(max(len(DAYS), len(TIMESTAMPS)))
] + [{"id": 99, "joined": None, "ts": None}]

RULES = [
    "ts < 1000-01-01",
    "ts >= 1000-01-01",
    "ts < 1000-01-01T00:00:00Z",
    "ts <= 0999-12-31T23:59:59.999999Z",
    "ts = 0001-01-01",
    "ts > 0001-01-01",
    "ts = 0099-12-31",
    "ts >= 9999-12-31",
    "ts > 9999-12-31T00:00:00Z",
    "ts in [0001-01-01, 9999-12-31]",
    "joined < 1000-01-01",
    "joined <= 0099-12-31",
    "joined = 0001-01-01",
    "joined >= 9999-12-31",
    "joined between 0100-01-01 and 0999-12-31",
    "joined within 1 days",
    "joined before 1 days ago",
    "ts within 2 days",
    "ts after 3 days ago",
    "days_since(ts) >= 1",
    "days_since(joined) = 1",
    "since between 0 and 1",
]
AS_OF = [
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(1, 1, 2, 12, tzinfo=UTC),
    dt.datetime(1000, 1, 1, tzinfo=UTC),
    dt.datetime(2026, 11, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def engines(pg, maria):
    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    out = {"postgres": pg, "duckdb": duck, "sqlite": lite, "mysql": maria}
    for engine in out.values():
        load_records(engine, SCHEMA, RECORDS)
    yield out
    duck.close()
    lite.close()


@pytest.mark.parametrize("as_of", AS_OF, ids=lambda t: t.isoformat()[:10])
@pytest.mark.parametrize("text", RULES)
def test_calendar_edges_agree_everywhere(engines, text, as_of):
    rule, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert rule is not None, diags
    is_member = compile_row(rule, as_of)
    expected = [r["id"] for r in RECORDS if is_member(r)]
    assert member_keys(rule, Table.from_records(SCHEMA, RECORDS), as_of) == expected
    for name, engine in engines.items():
        for params in (False, True) if engine.binds_named_params else (False,):
            compiled = compile_rule(rule, SCHEMA, target=name, as_of=as_of, params=params)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql, compiled.params) == expected, (name, params, compiled.sql)


def test_year_999_before_1000_on_sqlite():
    """The defect as first seen: memory finds key 1, SQLite found none."""
    lite = connect("sqlite::memory:")
    records = [{"id": 1, "joined": None, "ts": dt.datetime(999, 6, 1, tzinfo=UTC)}]
    load_records(lite, SCHEMA, records)
    rule, _ = check_expression(parse_expression("ts < 1000-01-01").expr, SCHEMA)
    compiled = compile_rule(rule, SCHEMA, target="sqlite", as_of=AS_OF[3])
    assert fetch_keys(lite, compiled.sql, compiled.params) == [1]


@pytest.mark.parametrize("engine_name", ["postgres", "duckdb", "sqlite", "mysql"])
def test_every_value_is_stored_exactly(engines, engine_name):
    """What each engine stores reads back as the very date and instant that was loaded."""
    engine = engines[engine_name]
    rows = engine.execute('SELECT "id", "joined", "ts" FROM "calendar_range" ORDER BY "id"'.replace(
        '"', "`" if engine_name == "mysql" else '"'))
    want = {r["id"]: r for r in RECORDS}
    for key, joined, ts in rows:
        expected = want[key]
        if engine_name == "sqlite":
            # Fixed-width text: text order is time order.
            assert joined == (expected["joined"].isoformat() if expected["joined"] else None)
            assert ts == (timestamp_text(expected["ts"]) if expected["ts"] else None)
            continue
        assert joined == expected["joined"]
        if ts is not None and ts.tzinfo is None:  # MariaDB DATETIME: UTC wall-clock time
            ts = ts.replace(tzinfo=UTC)
        assert ts == expected["ts"]


def test_timestamp_text_is_fixed_width_utc():
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert timestamp_text(dt.datetime(999, 6, 1, tzinfo=UTC)) == "0999-06-01 00:00:00.000000"
    assert timestamp_text(dt.datetime(1, 1, 1, 1, tzinfo=berlin)) == "0001-01-01 00:00:00.000000"
    assert timestamp_text(dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == "9999-12-31 23:59:59.999999"
    # The storage encoding is this one definition.
    assert storage_value("sqlite", Kind.TIMESTAMP, dt.datetime(5, 2, 3, 4, 5, 6, 7, tzinfo=UTC)) == \
        "0005-02-03 04:05:06.000007"


@pytest.mark.parametrize("value", [dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                                   dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-2)))])
def test_an_instant_outside_the_calendar_is_refused_with_a_clear_error(value):
    """Years 1-9999 in UTC: an instant that falls outside them once in UTC is refused
    when loading, on every engine, instead of being stored as something else."""
    with pytest.raises(ValueError, match="outside the years 1-9999 in UTC"):
        timestamp_text(value)
    for family in ("postgres", "duckdb", "sqlite", "mysql"):
        with pytest.raises(ValueError, match="outside the years 1-9999 in UTC"):
            storage_value(family, Kind.TIMESTAMP, value)


def test_loading_an_instant_outside_the_calendar_names_the_row_and_column(engines):
    bad = [{"id": 1, "joined": None, "ts": TIMESTAMPS[0]},
           {"id": 2, "joined": None, "ts": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))}]
    for name, engine in engines.items():
        with pytest.raises(DataError, match=r"table `calendar_refused`, row 2: column `ts`: .*outside the years 1-9999 in UTC"):
            load_records(engine, SCHEMA, bad, table="calendar_refused")
        # The connection is usable afterwards, and nothing half-loaded is left behind.
        load_records(engine, SCHEMA, bad[:1], table="calendar_refused")
        quote = "`" if name == "mysql" else '"'
        assert engine.execute(f"SELECT COUNT(*) FROM {quote}calendar_refused{quote}") == [(1,)], name
