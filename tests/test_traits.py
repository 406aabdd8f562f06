"""Traits — profile fields derived from source tables — give the same values and the
same members in memory and on every engine.

Hypothesis generates entities and source rows (ties in `by`, NULLs in the aggregated
columns, negative amounts, instants and days at both ends of the years 0001-9999,
entities without rows and rows of entities that do not exist, int or text entity keys
and int or text row ids) and rules over schema traits and inline aggregates (hour and day
windows in their rules, aggregates compared with fields and with each other), at an
as-of instant anywhere in the calendar; the row and columnar evaluators over the
in-memory profile, Postgres, a Postgres database with a non-C collation, DuckDB, SQLite
and MariaDB must agree member by member.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from segdsl.check.checker import check_expression
from segdsl.data.tables import Table
from segdsl.data.engines import connect, fetch_keys
from segdsl.data.loading import load_project
from segdsl.backends.memory import compile_row, member_keys
from segdsl.syntax.parser import parse_expression
from segdsl.backends.memory.profile import build_profile, profile_fields
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule

UTC = dt.timezone.utc


def _schema_data(prefix: str, key_type: str, id_type: str) -> dict:
    """Guests keyed by ``key_type``, with events keyed by ``id_type`` (the tie-break of
    `latest`) and owned through a column of ``key_type``."""
    return {
        "entity": "guest",
        "table": f"{prefix}_guests",
        "key": "id",
        "fields": {
            "id": {"type": key_type, "nullable": False},
            "tier": {"type": "enum", "values": ["a", "b"]},
            "total": {"derive": "sum(events.amount)"},
            "n_a": {"derive": 'count(events where kind = "a")'},
            "recent": {"derive": "count(events where at within 30 days)"},
            "recent_h": {"derive": "count(events where at within 48 hours)"},
            "last_at": {"derive": "max(events.at)"},
            "first_day": {"derive": "min(events.on_day)"},
            "latest_kind": {"derive": "latest(events.kind by at)"},
            "latest_flag": {"derive": 'latest(events.flag by at where kind = "b")'},
            "points": {"derive": "sum(events.points where flag)"},
            "since_last": {"days_since": "last_at"},
        },
        "sources": {
            "events": {
                "table": f"{prefix}_events",
                "id": "event_id",
                "entity_key": "owner",
                "columns": {
                    "event_id": {"type": id_type, "nullable": False},
                    "owner": {"type": key_type, "nullable": False},
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


def _schema(prefix: str, key_type: str, id_type: str):
    schema, diagnostics = schema_from_dict(_schema_data(prefix, key_type, id_type))
    assert schema is not None, diagnostics
    return schema


#: Per (entity key type, event id type): int keys and ids, or text (entity keys that
#: differ only in case, accents or trailing spaces; ids whose order differs by collation).
SCHEMAS = {
    (key, ident): _schema("trait" if (key, ident) == ("int", "int") else f"trait_{key}_{ident}", key, ident)
    for key in ("int", "text") for ident in ("int", "text")
}
SCHEMA = SCHEMAS["int", "int"]
SCHEMA_DATA = _schema_data("trait", "int", "int")
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
#: As-of instants: today, and both ends of the calendar (day windows beyond it).
AS_OFS = [AS_OF, dt.datetime(1, 1, 1, 12, tzinfo=UTC), dt.datetime(1000, 1, 1, tzinfo=UTC),
          dt.datetime(9999, 12, 31, 23, tzinfo=UTC)]
TIMES = [dt.datetime(2026, 10, d, h, tzinfo=UTC) for d in (1, 2, 31) for h in (0, 23)] + [
    dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(999, 12, 31, 23, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
] + [  # the edges of the hour windows below at AS_OF: N hours before it, one microsecond either side
    AS_OF - dt.timedelta(hours=h, microseconds=us) for h in (1, 2, 6, 48) for us in (-1, 0, 1)
]
DAYS = [dt.date(2026, 1, 1), dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(999, 12, 31), dt.date(9999, 12, 31)]
TEXT_KEYS = ["a", "A", "a ", "B", "é", "É", "", "ß", "10", "9"]
TEXT_IDS = st.text(alphabet="aAbBé_ 9", max_size=3)

ENTITY = st.fixed_dictionaries({"tier": st.one_of(st.none(), st.sampled_from(["a", "b"]))})
EVENT = st.fixed_dictionaries(
    {
        "at": st.one_of(st.none(), st.sampled_from(TIMES)),
        "on_day": st.one_of(st.none(), st.sampled_from(DAYS)),
        "amount": st.one_of(st.none(), st.sampled_from(
            [Decimal(x) for x in ("0.10", "0.20", "99.99", "-5.00", "-0.01", "-99.99", "0.00")])),
        "points": st.one_of(st.none(), st.integers(-3, 3)),
        "kind": st.sampled_from(["a", "b"]),
        "flag": st.one_of(st.none(), st.booleans()),
    }
)


@st.composite
def histories(draw):
    """(schema, entity rows, event rows): a few entities, some without events, and
    events of entities that do not exist."""
    key_type, id_type = draw(st.sampled_from(sorted(SCHEMAS)))
    entities = draw(st.lists(ENTITY, max_size=6))
    if key_type == "int":
        keys: list = list(range(1, len(entities) + 1))
        owners = st.integers(1, 7)  # 7 may not exist
    else:
        keys = draw(st.lists(st.sampled_from(TEXT_KEYS), min_size=len(entities), max_size=len(entities), unique=True))
        owners = st.sampled_from(TEXT_KEYS)
    events = draw(st.lists(EVENT, max_size=14))
    if id_type == "int":
        ids: list = list(range(1, len(events) + 1))
    else:
        ids = draw(st.lists(TEXT_IDS, min_size=len(events), max_size=len(events), unique=True))
    entity_rows = [{"id": k, **e} for k, e in zip(keys, entities)]
    event_rows = [{"event_id": i, "owner": draw(owners), **e} for i, e in zip(ids, events)]
    return SCHEMAS[key_type, id_type], entity_rows, event_rows


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
        "count(events) = 0",
        "latest_kind is null",
        "total < 0",
        "total <= -0.01",
        "sum(events.amount where amount < 0) < -5",
        "min(events.amount) <= -0.01",
        "max(events.amount) < 0",
        "min(events.points) < -1",
        "max(events.at) < 1000-01-01",
        "min(events.at) <= 0001-01-01T00:00:00Z",
        "last_at >= 9999-12-31",
        "first_day = 0001-01-01",
        "min(events.on_day) < 1000-01-01",
        "max(events.on_day) >= 9999-12-31",
        "latest(events.on_day by at) = 0999-12-31",
        "latest(events.points by on_day) < 0",
        "since_last between 0 and 1",
        "last_at within 100000 days",
        "count(events where at before 3 days ago) >= 1",
        # hour windows inside an aggregate's rule, and aggregates compared with fields
        "recent_h >= 1",
        "count(events where at within 1 hour) >= 1",
        "count(events where at before 6 hours ago) > n_a",
        "count(events where at after 2 hours ago and kind = \"b\") >= 1",
        "total >= sum(events.amount where kind = \"a\")",
        "n_a > recent",
        "recent_h = count(events)",
        "sum(events.points) >= total",
        "total < max(events.points)",
        "last_at > max(events.at where kind = \"b\")",
        "max(events.points) != min(events.points)",
        "latest_kind = tier",
        "first_day < min(events.on_day where kind = \"b\")",
        "count(events where points > amount) >= 1",
        "count(events where not (amount <= points) or at within 6 hours) = count(events where amount < points)",
        # Rankings by traits and inline aggregates (a count or sum of no rows is 0, and ranks).
        "count(events) in top 50%",
        "top 2 by total",
        'total in top 25% among (tier = "a")',
        'top 1 by sum(events.points where kind = "a")',
        "max(events.at) in top 34%",
        "since_last in top 50%",
        "latest(events.amount by at) in top 50% among (count(events) >= 1)",
        'not (top 2 by count(events where kind = "b"))',
    ]
)


#: (engine, table) pairs whose tables exist already: later examples empty and refill them.
CREATED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def engines(pg, pg_collated, maria):
    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    CREATED.clear()
    yield {"postgres": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck, "sqlite": lite, "mysql": maria}
    duck.close()
    lite.close()


@given(
    data=histories(),
    rules=st.lists(RULES, min_size=1, max_size=3),
    combine=st.sampled_from([" and ", " or "]),
    as_of=st.sampled_from(AS_OFS),
    params=st.booleans(),
)
def test_traits_agree_everywhere(engines, data, rules, combine, as_of, params):
    schema, entity_rows, event_rows = data
    text = combine.join(f"({r})" for r in rules)
    note(text)
    parsed = parse_expression(text)
    rule, diags = check_expression(parsed.expr, schema)
    assert rule is not None, diags

    source = schema.sources["events"]
    profile = build_profile(
        schema, Table.from_records(schema, entity_rows), {"events": Table.from_records(source, event_rows)},
        profile_fields([rule]), as_of,
    )
    is_member = compile_row(rule, as_of, profile)
    # Members are listed by key, text keys in code point order.
    expected = sorted(r["id"] for r in profile.records() if is_member(r))
    assert member_keys(rule, profile, as_of) == expected

    for name, engine in engines.items():
        tables = {schema.table: entity_rows, source.table: event_rows}
        load_project(engine, schema, tables, create=(name, schema.table) not in CREATED)
        CREATED.add((name, schema.table))
        # Not pretty: the path whose profile CTE comes from the cache (test_compile_cache).
        compiled = compile_rule(rule, schema, target=engine.dialect, as_of=as_of,
                                params=params and engine.binds_named_params, pretty=False)
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


@pytest.mark.parametrize("text,members", [
    ("count(events) = 2", ["a"]),
    ("count(events) = 1", ["A"]),
    ("count(events) = 0", ["a ", "b"]),
    ('latest_kind = "b"', ["A"]),
    ("total = 0.30", ["a"]),
])
def test_text_keys_differing_in_case_or_trailing_spaces_are_different_entities(engines, text, members):
    """MariaDB's default collations find 'a' = 'A' = 'a ': grouping and joining source
    rows on such keys once merged three guests' histories."""
    schema = SCHEMAS["text", "int"]
    entity_rows = [{"id": k, "tier": None} for k in ("a", "A", "a ", "b")]
    at = dt.datetime(2026, 10, 1, tzinfo=UTC)
    event_rows = [
        {"event_id": 1, "owner": "a", "at": at, "on_day": None, "amount": Decimal("0.10"), "points": None,
         "kind": "a", "flag": None},
        {"event_id": 2, "owner": "a", "at": at, "on_day": None, "amount": Decimal("0.20"), "points": None,
         "kind": "a", "flag": None},
        {"event_id": 3, "owner": "A", "at": at, "on_day": None, "amount": None, "points": None, "kind": "b",
         "flag": None},
        {"event_id": 4, "owner": "B", "at": at, "on_day": None, "amount": None, "points": None, "kind": "b",
         "flag": None},
    ]
    rule, diags = check_expression(parse_expression(text).expr, schema)
    assert rule is not None, diags
    profile = build_profile(schema, Table.from_records(schema, entity_rows),
                            {"events": Table.from_records(schema.sources["events"], event_rows)},
                            profile_fields([rule]), AS_OF)
    assert member_keys(rule, profile, AS_OF) == members
    for name, engine in engines.items():
        load_project(engine, schema, {schema.table: entity_rows, schema.sources["events"].table: event_rows},
                     create=(name, schema.table) not in CREATED)
        CREATED.add((name, schema.table))
        compiled = compile_rule(rule, schema, target=engine.dialect, as_of=AS_OF)
        assert fetch_keys(engine, compiled.sql, compiled.params) == members, name
