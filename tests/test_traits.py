"""Traits — profile fields derived from source tables — give the same values and the
same members in memory and on every engine.

Hypothesis generates entities and source rows (ties in `by`, NULLs in the aggregated
columns, rows of entities that do not exist) and rules over schema traits and inline
aggregates; the row and columnar evaluators over the in-memory profile, Postgres, DuckDB
and SQLite must agree member by member.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from segdsl.check.checker import check_expression
from segdsl.data.tables import Table
from segdsl.data.engines import connect, fetch_keys, load_project
from segdsl.backends.memory import compile_row, member_keys
from segdsl.syntax.parser import parse_expression
from segdsl.backends.memory.profile import build_profile, profile_fields
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule

UTC = dt.timezone.utc
SCHEMA_DATA = {
    "entity": "guest",
    "table": "trait_guests",
    "key": "id",
    "fields": {
        "id": {"type": "int", "nullable": False},
        "tier": {"type": "enum", "values": ["a", "b"]},
        "total": {"derive": "sum(events.amount)"},
        "n_a": {"derive": 'count(events where kind = "a")'},
        "recent": {"derive": "count(events where at within 30 days)"},
        "last_at": {"derive": "max(events.at)"},
        "first_day": {"derive": "min(events.on_day)"},
        "latest_kind": {"derive": "latest(events.kind by at)"},
        "latest_flag": {"derive": 'latest(events.flag by at where kind = "b")'},
        "points": {"derive": "sum(events.points where flag)"},
        "since_last": {"days_since": "last_at"},
    },
    "sources": {
        "events": {
            "table": "trait_events",
            "id": "event_id",
            "entity_key": "owner",
            "columns": {
                "event_id": {"type": "int", "nullable": False},
                "owner": {"type": "int", "nullable": False},
                "at": {"type": "timestamp"},
                "on_day": {"type": "date"},
                "amount": {"type": "decimal(8, 2)"},
                "points": {"type": "int"},
                "kind": {"type": "enum", "values": ["a", "b"], "nullable": False},
                "flag": {"type": "bool"},
            },
        }
    },
}
SCHEMA, DIAGS = schema_from_dict(SCHEMA_DATA)
assert SCHEMA is not None, DIAGS
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
TIMES = [dt.datetime(2026, 10, d, h, tzinfo=UTC) for d in (1, 2, 31) for h in (0, 23)] + [
    dt.datetime(2025, 1, 1, tzinfo=UTC)
]

ENTITY = st.fixed_dictionaries({"tier": st.one_of(st.none(), st.sampled_from(["a", "b"]))})
EVENT = st.fixed_dictionaries(
    {
        "owner": st.integers(1, 7),  # 7 may not exist
        "at": st.one_of(st.none(), st.sampled_from(TIMES)),
        "on_day": st.one_of(st.none(), st.sampled_from([dt.date(2026, 1, 1), dt.date(2024, 2, 29)])),
        "amount": st.one_of(st.none(), st.sampled_from([Decimal("0.10"), Decimal("0.20"), Decimal("99.99"), Decimal("-5.00")])),
        "points": st.one_of(st.none(), st.integers(-3, 3)),
        "kind": st.sampled_from(["a", "b"]),
        "flag": st.one_of(st.none(), st.booleans()),
    }
)
RULES = st.sampled_from(
    [
        "total >= 0.30",
        "total = 0",
        "total > 99.99",
        "n_a >= 1",
        "recent >= 2",
        "last_at within 30 days",
        "since_last >= 1",
        "since_last is null",
        "first_day = 2024-02-29",
        'latest_kind = "b"',
        "latest_flag",
        "not latest_flag",
        "latest_flag is null",
        "points > 0",
        'count(events where kind = "b" and at within 31 days) >= 1',
        "sum(events.amount where kind = \"a\") between 0.1 and 0.3",
        "max(events.points) >= 2",
        "latest(events.amount by at) < 0",
        "latest(events.kind by on_day) = \"a\"",
        'tier = "a" or count(events) = 0',
    ]
)


#: Engines whose tables exist already: later examples empty and refill them.
CREATED: set[str] = set()


@pytest.fixture(scope="module")
def engines(pg, maria):
    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    CREATED.clear()
    yield {"postgres": pg, "duckdb": duck, "sqlite": lite, "mysql": maria}
    duck.close()
    lite.close()


@given(
    entities=st.lists(ENTITY, max_size=6),
    events=st.lists(EVENT, max_size=14),
    rules=st.lists(RULES, min_size=1, max_size=3),
    combine=st.sampled_from([" and ", " or "]),
    params=st.booleans(),
)
def test_traits_agree_everywhere(engines, entities, events, rules, combine, params):
    text = combine.join(f"({r})" for r in rules)
    note(text)
    parsed = parse_expression(text)
    rule, diags = check_expression(parsed.expr, SCHEMA)
    assert rule is not None, diags
    entity_rows = [{"id": i + 1, **e} for i, e in enumerate(entities)]
    event_rows = [{"event_id": i + 1, **e} for i, e in enumerate(events)]

    source = SCHEMA.sources["events"]
    profile = build_profile(
        SCHEMA, Table.from_records(SCHEMA, entity_rows), {"events": Table.from_records(source, event_rows)},
        profile_fields([rule]), AS_OF,
    )
    is_member = compile_row(rule, AS_OF)
    expected = [r["id"] for r in profile.records() if is_member(r)]
    assert member_keys(rule, profile, AS_OF) == expected

    for name, engine in engines.items():
        load_project(engine, SCHEMA, {SCHEMA.table: entity_rows, source.table: event_rows}, create=name not in CREATED)
        CREATED.add(name)
        # Not pretty: the path whose profile CTE comes from the cache (test_compile_cache).
        compiled = compile_rule(rule, SCHEMA, target=name, as_of=AS_OF, params=params and engine.binds_named_params,
                                pretty=False)
        assert compiled.ok, compiled.diagnostics
        note(f"{name}: {compiled.sql}")
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, name


def test_trait_values_match_a_hand_computation():
    entity_rows = [{"id": 1, "tier": None}, {"id": 2, "tier": "a"}]
    t = dt.datetime(2026, 10, 20, tzinfo=UTC)
    event_rows = [
        {"event_id": 1, "owner": 1, "at": t, "on_day": None, "amount": Decimal("0.10"), "points": 2, "kind": "a", "flag": True},
        {"event_id": 2, "owner": 1, "at": t, "on_day": None, "amount": Decimal("0.20"), "points": 5, "kind": "b", "flag": False},
        {"event_id": 3, "owner": 1, "at": None, "on_day": None, "amount": None, "points": None, "kind": "b", "flag": True},
        {"event_id": 4, "owner": 9, "at": t, "on_day": None, "amount": Decimal("50"), "points": 1, "kind": "a", "flag": True},
    ]
    source = SCHEMA.sources["events"]
    fields = [f for f in SCHEMA.fields.values() if f.derive is not None]
    profile = build_profile(
        SCHEMA, Table.from_records(SCHEMA, entity_rows), {"events": Table.from_records(source, event_rows)}, fields, AS_OF
    )
    one, two = profile.records()
    assert one["total"] == Decimal("0.30") and two["total"] == Decimal("0")
    assert (one["n_a"], one["recent"], one["points"]) == (1, 2, 2)
    assert one["last_at"] == t and two["last_at"] is None
    # Rows 1 and 2 tie on `at`; the greater id (2) is the latest. Row 3 has no `at`.
    assert one["latest_kind"] == "b" and one["latest_flag"] is False
    assert two["latest_kind"] is None and two["points"] == 0


def _with_channel(consent: str) -> dict:
    base = {k: v for k, v in SCHEMA_DATA.items() if k != "fields"}
    fields = dict(SCHEMA_DATA["fields"], email={"type": "text"})
    return {**base, "fields": fields, "channels": {"email": {"consent": consent, "address": "email"}}}


def test_a_trait_is_typed_by_the_check_stage_not_by_reading():
    from segdsl.check.traits import check_schema
    from segdsl.schema.model import Kind, read_schema_dict

    read, diags = read_schema_dict(SCHEMA_DATA)
    assert read is not None, diags
    # Read, a trait has no type yet; the check stage gives it the aggregate's.
    assert read.fields["latest_flag"].derive is None
    typed, diags = check_schema(read)
    assert typed is not None and not diags
    assert typed.fields["latest_flag"].kind is Kind.BOOL and typed.fields["latest_flag"].derive is not None
    assert typed == SCHEMA


def test_a_channel_consent_held_by_a_trait_is_checked_once_typed():
    schema, diags = schema_from_dict(_with_channel("latest_flag"))
    assert schema is not None, diags
    assert schema.channels["email"].consent == "latest_flag"
    schema, diags = schema_from_dict(_with_channel("total"))  # a trait, but a sum
    assert schema is None
    assert [d.message for d in diags] == ["channel `email`: `consent` must name a boolean field"]
