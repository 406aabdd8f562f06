"""Time in SQL: the database-clock form agrees with a pinned as-of (day and hour
windows, days compared with days), the session's time zone never changes an answer, and time predicates leave the column bare so an index on
it is used."""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.check.checker import check_expression
from segdsl.data.engines import connect, fetch_keys, load_records
from segdsl.backends.memory import compile_row
from segdsl.syntax.parser import parse_expression
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule

SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "clock_probe",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "seen_at": {"type": "timestamp"},
            "joined": {"type": "date"},
        },
    }
)
UTC = dt.timezone.utc
RULES = [
    "seen_at within 1 days",
    "seen_at within 0 days",
    "seen_at before 1 days ago",
    "seen_at after 2 days ago",
    "days_since(seen_at) >= 1",
    "days_since(seen_at) = 0",
    "days_since(seen_at) != 2",
    "joined within 3 days",
    "days_since(joined) between 1 and 2",
    "joined before 0 days ago",
    "seen_at within 48 hours",
    "seen_at before 6 hours ago",
    "seen_at after 13 hours ago",
    "seen_at within 0 hours or seen_at after 1 hour ago",
    # A timestamp's day is its UTC date whatever the session's zone: `joined` is that day.
    "days_since(seen_at) < days_since(joined)",
    "days_since(seen_at) != days_since(joined)",
    "days_since(seen_at) = days_since(joined)",
]


def _records(today: dt.date) -> list[dict]:
    out = []
    key = 0
    for days in range(-3, 5):
        day = today - dt.timedelta(days=days)
        for t in (dt.time(0, 0), dt.time(23, 59, 59, 999_999), dt.time(12, 0)):
            key += 1
            out.append({"id": key, "seen_at": dt.datetime.combine(day, t, UTC), "joined": day})
    out.append({"id": key + 1, "seen_at": None, "joined": None})
    return out


def _hour_records(now: dt.datetime, start: int) -> list[dict]:
    """Instants a second inside and outside the hour windows' edges at ``now`` (the
    database reads its clock a moment later, never a second later)."""
    out = []
    for hours in (0, 1, 6, 13, 48):
        for seconds in (-2, 2):
            at = now - dt.timedelta(hours=hours, seconds=seconds)
            start += 1
            out.append({"id": start, "seen_at": at, "joined": at.date()})
    return out


def _rule(text):
    node, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert node is not None, diags
    return node


def _clock_agrees(engine, zone_sql: str | None) -> None:
    for _ in range(2):  # a retry covers a run that straddles UTC midnight
        now = dt.datetime.now(UTC)
        records = _records(now.date())
        records += _hour_records(now, len(records))
        load_records(engine, SCHEMA, records)
        if zone_sql:
            engine.execute(zone_sql)
        results = {}
        for text in RULES:
            rule = _rule(text)
            expected = [r["id"] for r in records if compile_row(rule, now)(r)]
            clock = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=None)
            pinned = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=now, params=True)
            results[text] = (expected, fetch_keys(engine, clock.sql), fetch_keys(engine, pinned.sql, pinned.params))
        if dt.datetime.now(UTC).date() == now.date():
            break
    for text, (expected, clock_keys, pinned_keys) in results.items():
        assert clock_keys == expected, f"{engine.dialect} clock, {text}"
        assert pinned_keys == expected, f"{engine.dialect} pinned, {text}"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_postgres_clock_and_session_time_zone(pg_dsn, zone):
    with connect(pg_dsn) as engine:
        _clock_agrees(engine, f"SET TIME ZONE '{zone}'")


def test_duckdb_clock():
    with connect("duckdb::memory:") as engine:
        _clock_agrees(engine, "SET TimeZone = 'Asia/Kolkata'")


def test_sqlite_clock():
    with connect("sqlite::memory:") as engine:
        _clock_agrees(engine, None)


def test_time_predicates_use_an_index_on_postgres(pg_dsn):
    with connect(pg_dsn) as engine:
        records = [
            {"id": i, "seen_at": dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(hours=7 * i), "joined": None}
            for i in range(5000)
        ]
        load_records(engine, SCHEMA, records)
        engine.execute('CREATE INDEX clock_probe_seen_at ON "clock_probe" ("seen_at")')
        engine.execute("ANALYZE clock_probe")
        engine.commit()
        for text in ("seen_at within 30 days", "days_since(seen_at) <= 7", "seen_at after 10 days ago"):
            for as_of in (dt.datetime(2023, 1, 1, tzinfo=UTC), None):
                compiled = compile_rule(_rule(text), SCHEMA, target="postgres", as_of=as_of, form="count")
                plan = "\n".join(row[0] for row in engine.execute("EXPLAIN " + compiled.sql))
                assert "clock_probe_seen_at" in plan, f"{text}: no index scan\n{plan}"
