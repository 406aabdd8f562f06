"""Event sequences — ``(A) [not] followed by (B) within N`` — give the same members in
memory and on every engine, and mean exactly what :func:`segdsl.ir.semantics.sequence_holds`
says.

Hypothesis generates entities and the events of two event sources (ties in time, NULL
times, events after the as-of, instants one microsecond either side of a window's edge,
instants at both ends of the years 0001-9999, entities without events and events of
entities that do not exist, int or text keys) and rules with sequences nested in
and/or/not, beside traits and inside referenced segments, at as-of instants on window
edges and at the calendar's ends. The row and columnar evaluators, Postgres (in a
session whose time zone is not UTC), a Postgres database with a non-C collation, DuckDB,
SQLite and MariaDB must agree member by member, and the profile's sequence column must
equal the definition computed event by event. The memory merge is also checked on its
own: its sort against numpy's stable sort, and its answer per A event against the
definition, over keys and events stored in order, nearly in order, in no order and
backwards, down each of the sort's paths.
"""

from __future__ import annotations

import datetime as dt
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from segdsl import ir
from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.memory import profile as memory_profile
from segdsl.backends.memory.profile import build_profile, profile_fields
from segdsl.backends.sql import compile_rule
from segdsl.check.checker import check_expression, check_modules
from segdsl.check.traits import schema_from_dict
from segdsl.data.engines import connect, fetch_keys
from segdsl.data.loading import load_project
from segdsl.data.tables import Table
from segdsl.ir.semantics import sequence_holds
from segdsl.syntax.parser import parse_expression, parse_source

UTC = dt.timezone.utc


def _schema(prefix: str, key_type: str):
    data = {
        "entity": "guest",
        "table": f"{prefix}_guests",
        "key": "id",
        "fields": {
            "id": {"type": key_type, "nullable": False},
            "tier": {"type": "enum", "values": ["a", "b"]},
            "spend": {"derive": "sum(events.amount)"},
        },
        "sources": {
            "events": {
                "table": f"{prefix}_events", "id": "event_id", "entity_key": "owner", "time": "at",
                "columns": {
                    "event_id": {"type": "int", "nullable": False},
                    "owner": {"type": key_type, "nullable": False},
                    "at": {"type": "timestamp"},
                    "kind": {"type": "enum", "values": ["a", "b"], "nullable": False},
                    "amount": {"type": "int"},
                },
            },
            "visits": {
                "table": f"{prefix}_visits", "id": "visit_id", "entity_key": "owner", "time": "seen_at",
                "columns": {
                    "visit_id": {"type": "int", "nullable": False},
                    "owner": {"type": key_type, "nullable": False},
                    "seen_at": {"type": "timestamp"},
                    "flag": {"type": "bool"},
                },
            },
        },
    }
    schema, diagnostics = schema_from_dict(data)
    assert schema is not None, diagnostics
    return schema


SCHEMAS = {"int": _schema("seq", "int"), "text": _schema("seq_text", "text")}
SCHEMA = SCHEMAS["int"]

T0 = dt.datetime(2026, 10, 1, tzinfo=UTC)
US = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)
#: Instants around T0 on the edges of 1-day, 2-day and 1-week windows, a DST change in
#: Europe (2026-10-25), and both ends of the calendar.
TIMES = [T0, T0 + US, T0 - US, T0 + DAY, T0 + DAY + US, T0 + DAY - US, T0 + 2 * DAY, T0 + 7 * DAY,
         T0 + 7 * DAY + US, dt.datetime(2026, 10, 24, 12, tzinfo=UTC), dt.datetime(2026, 10, 25, 12, tzinfo=UTC),
         dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 2, tzinfo=UTC),
         dt.datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC),
         dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
#: As-of instants: after everything of 2026, on a window's closing instant (and just
#: before it), in the middle of the events, and at both ends of the calendar.
AS_OFS = [dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, tzinfo=UTC), T0 + DAY, T0 + DAY, T0 + DAY + US, T0 + DAY - US, T0 + 7 * DAY, T0 + 2 * DAY + US,
          dt.datetime(1, 1, 3, tzinfo=UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
TEXT_KEYS = ["a", "A", "a ", "B", "é", "", "10", "9"]

#: Mostly instants a window's length apart, so that windows' edges are met often.
INSTANTS = st.one_of(st.sampled_from(TIMES[:6]), st.sampled_from(TIMES[:6]), st.sampled_from(TIMES))
EVENT = st.fixed_dictionaries({
    "at": st.one_of(st.none(), INSTANTS, INSTANTS, INSTANTS),
    "kind": st.sampled_from(["a", "b"]),
    "amount": st.one_of(st.none(), st.integers(-1, 2)),
})
VISIT = st.fixed_dictionaries({
    "seen_at": st.one_of(st.none(), INSTANTS, INSTANTS, INSTANTS),
    "flag": st.one_of(st.none(), st.booleans()),
})


@st.composite
def histories(draw):
    """(schema, entity rows, event rows, visit rows)."""
    key_type = draw(st.sampled_from(sorted(SCHEMAS)))
    tiers = draw(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b"])), min_size=1, max_size=3))
    if key_type == "int":
        keys: list = list(range(1, len(tiers) + 1))
        owners = st.integers(1, 4)  # 4 does not exist
    else:
        keys = draw(st.lists(st.sampled_from(TEXT_KEYS), min_size=len(tiers), max_size=len(tiers), unique=True))
        owners = st.sampled_from(keys + ["a"]) if keys else st.sampled_from(TEXT_KEYS)
    # Empty histories come from entities left without events, and from examples where
    # every event belongs to an entity that does not exist.
    events = draw(st.lists(EVENT, min_size=2, max_size=10))
    visits = draw(st.lists(VISIT, min_size=1, max_size=8))
    entity_rows = [{"id": k, "tier": t} for k, t in zip(keys, tiers)]
    event_rows = [{"event_id": i + 1, "owner": draw(owners), **e} for i, e in enumerate(events)]
    visit_rows = [{"visit_id": i + 1, "owner": draw(owners), **v} for i, v in enumerate(visits)]
    return SCHEMAS[key_type], entity_rows, event_rows, visit_rows


SIDES = st.sampled_from([
    "(events)", '(events where kind = "a")', '(events where kind = "b" or amount > 0)', "(events where amount is null)",
    "(visits)", "(visits where flag)", "(visits where not flag)",
])
WINDOWS = st.sampled_from(["1 day", "1 day", "2 days", "1 week", "30 days", "100000 days"])


@st.composite
def sequence(draw):
    word = draw(st.sampled_from(["followed by", "not followed by"]))
    return f"{draw(SIDES)} {word} {draw(SIDES)} within {draw(WINDOWS)}"


LEAVES = st.one_of(sequence(), sequence(), st.sampled_from(['tier = "a"', "spend >= 1", "tier is null"]))


def combine(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: "(" + " and ".join(xs) + ")"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: "(" + " or ".join(xs) + ")"),
        children.map(lambda x: f"not ({x})"),
    )


BASE = st.recursive(LEAVES, combine, max_leaves=3)
MAIN = st.recursive(st.one_of(LEAVES, st.just("in segment base"), st.just("not in segment base")), combine,
                    max_leaves=5)

#: (engine, table) pairs whose tables exist already: later examples empty and refill them.
CREATED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def engines(pg_dsn, pg_collated, maria):
    # A Postgres session in a zone with DST and a non-whole-hour offset: windows are
    # exact seconds, whatever the session's zone.
    pg = connect(pg_dsn)
    pg.execute("SET TIME ZONE 'America/St_Johns'")
    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    CREATED.clear()
    yield {"postgres (St. John's session)": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck,
           "sqlite": lite, "mysql": maria}
    for e in (pg, duck, lite):
        e.close()


def _profile(schema, rules, entity_rows, event_rows, visit_rows, as_of):
    sources = {"events": Table.from_records(schema.sources["events"], event_rows),
               "visits": Table.from_records(schema.sources["visits"], visit_rows)}
    return build_profile(schema, Table.from_records(schema, entity_rows), sources, profile_fields(rules), as_of)


def _by_definition(node: ir.Sequence, key, event_rows, visit_rows, as_of) -> bool:
    """``sequence_holds`` over one entity's events, each side filtered by its rule as the
    row evaluator judges a source row."""
    rows = {"events": (event_rows, "at"), "visits": (visit_rows, "seen_at")}

    def instants(side: ir.Events):
        records, time = rows[side.source]
        keep = compile_row(side.where, as_of) if side.where is not None else (lambda r: True)
        return [r[time] for r in records if r["owner"] == key and keep(r)]

    return sequence_holds(instants(node.first), instants(node.then), node.seconds, node.negated, as_of)


@given(data=histories(), base=BASE, main=MAIN, as_of=st.sampled_from(AS_OFS), params=st.booleans())
def test_sequences_agree_everywhere(engines, data, base, main, as_of, params):
    schema, entity_rows, event_rows, visit_rows = data
    text = f"segment base {{ where {base} }}\nsegment main {{ where {main} }}\n"
    note(text)
    parsed = parse_source("seq.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    checked = check_modules([parsed.module], schema)
    assert not [d for d in checked.diagnostics if d.is_error], checked.diagnostics
    rule = checked.segments["main"].rule

    profile = _profile(schema, [rule], entity_rows, event_rows, visit_rows, as_of)
    records = profile.records()
    # The merge in memory against the definition, event by event.
    for node in ir.sequences(rule):
        for r in records:
            assert r[node.column] is _by_definition(node, r["id"], event_rows, visit_rows, as_of), node
    # The same answer whatever order the sources are stored in: by (entity, time), as
    # the merge's sort finds them fastest, and backwards.
    def stored(rows, time):
        return sorted(rows, key=lambda r: (str(r["owner"]), r[time] is None, r[time] or T0))

    ordered = _profile(schema, [rule], entity_rows, stored(event_rows, "at"), stored(visit_rows, "seen_at"), as_of)
    backwards = _profile(schema, [rule], entity_rows, event_rows[::-1], visit_rows[::-1], as_of)
    # With a sort key too narrow for these instants (as a million entities make it), the
    # merge sorts by coarse instants and must notice where that left events out of order.
    with patch.object(memory_profile, "_KEY_BITS", 24):
        coarse = _profile(schema, [rule], entity_rows, event_rows, visit_rows, as_of)
        coarse_backwards = _profile(schema, [rule], entity_rows, event_rows[::-1], visit_rows[::-1], as_of)
    for node in ir.sequences(rule):
        want = [r[node.column] for r in records]
        for other in (ordered, backwards, coarse, coarse_backwards):
            assert [r[node.column] for r in other.records()] == want
    is_member = compile_row(rule, as_of)
    expected = sorted(r["id"] for r in records if is_member(r))
    assert member_keys(rule, profile, as_of) == expected, "columnar evaluator disagrees with the row evaluator"

    for name, engine in engines.items():
        tables = {schema.table: entity_rows, schema.sources["events"].table: event_rows,
                  schema.sources["visits"].table: visit_rows}
        load_project(engine, schema, tables, create=(name, schema.table) not in CREATED)
        CREATED.add((name, schema.table))
        compiled = compile_rule(rule, schema, target=engine.dialect, as_of=as_of,
                                params=params and engine.binds_named_params, pretty=params)
        assert compiled.ok, compiled.diagnostics
        note(f"{name}: {compiled.sql}")
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, name


# ----------------------------------------------------------------- by hand

A_TIME = dt.datetime(2026, 10, 1, 12, tzinfo=UTC)


def _members(text: str, events: list[tuple[int, dt.datetime | None, str]], as_of: dt.datetime,
             engines: dict | None = None) -> list:
    """Members of ``text`` over guests 1-4 and the events (owner, at, kind)."""
    entity_rows = [{"id": k, "tier": None} for k in (1, 2, 3, 4)]
    event_rows = [{"event_id": i + 1, "owner": o, "at": at, "kind": kind, "amount": None}
                  for i, (o, at, kind) in enumerate(events)]
    rule, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert rule is not None, diags
    profile = _profile(SCHEMA, [rule], entity_rows, event_rows, [], as_of)
    got = member_keys(rule, profile, as_of)
    is_member = compile_row(rule, as_of)
    assert [r["id"] for r in profile.records() if is_member(r)] == got
    for name, engine in (engines or {}).items():
        tables = {SCHEMA.table: entity_rows, SCHEMA.sources["events"].table: event_rows,
                  SCHEMA.sources["visits"].table: []}
        load_project(engine, SCHEMA, tables, create=(name, SCHEMA.table) not in CREATED)
        CREATED.add((name, SCHEMA.table))
        compiled = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=as_of)
        assert fetch_keys(engine, compiled.sql, compiled.params) == got, name
    return got


FOLLOWED = '(events where kind = "a") followed by (events where kind = "b") within 1 day'
NOT_FOLLOWED = '(events where kind = "a") not followed by (events where kind = "b") within 1 day'
EDGE_CASES = [
    # guest 1: B exactly tA + 1 day (in); guest 2: one microsecond later (out);
    # guest 3: B at tA (a tie: not after A); guest 4: B one microsecond after A.
    [(1, A_TIME, "a"), (1, A_TIME + DAY, "b"), (2, A_TIME, "a"), (2, A_TIME + DAY + US, "b"),
     (3, A_TIME, "a"), (3, A_TIME, "b"), (4, A_TIME, "a"), (4, A_TIME + US, "b")],
]


@pytest.mark.parametrize("as_of,followed,not_followed", [
    # Everything is in the past: the windows have closed.
    (A_TIME + 7 * DAY, [1, 4], [2, 3]),
    # The as-of is the closing instant of every window: closed, and B at tA + 1 day is seen.
    (A_TIME + DAY, [1, 4], [2, 3]),
    # One microsecond earlier: guest 1's B is after the as-of, and no window has closed.
    (A_TIME + DAY - US, [4], []),
    # Before A: nothing has happened yet.
    (A_TIME - US, [], []),
])
def test_window_edges_by_hand(engines, as_of, followed, not_followed):
    (events,) = EDGE_CASES
    assert _members(FOLLOWED, events, as_of, engines) == followed
    assert _members(NOT_FOLLOWED, events, as_of, engines) == not_followed


def test_null_times_never_count_and_no_events_is_false(engines):
    events = [(1, None, "a"), (1, A_TIME, "b"), (2, A_TIME, "a"), (2, None, "b")]
    as_of = A_TIME + 30 * DAY
    assert _members(FOLLOWED, events, as_of, engines) == []
    # Guest 2's A has no B with a time: not followed. Guests 3 and 4 have no events: the
    # sequence is FALSE for them, and `not (...)` TRUE (two-valued).
    assert _members(NOT_FOLLOWED, events, as_of, engines) == [2]
    assert _members(f"not ({NOT_FOLLOWED})", events, as_of, engines) == [1, 3, 4]


def test_a_window_past_the_calendar_counts_every_later_event(engines):
    late = dt.datetime(9999, 12, 31, 12, tzinfo=UTC)
    end = dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    events = [(1, late, "a"), (1, end, "b"), (2, late, "a")]
    text = '(events where kind = "a") followed by (events where kind = "b") within 100000 days'
    assert _members(text, events, end, engines) == [1]
    # Its window never closes within the calendar: never "not followed".
    assert _members(text.replace("followed", "not followed"), events, end, engines) == []


def test_a_source_without_time_is_refused_naming_the_fix():
    data = {"entity": "guest", "table": "g", "key": "id", "fields": {"id": {"type": "int", "nullable": False}},
            "sources": {"logs": {"table": "logs", "id": "log_id", "entity_key": "owner", "columns": {
                "log_id": {"type": "int", "nullable": False}, "owner": {"type": "int", "nullable": False},
                "logged_at": {"type": "timestamp"}, "on_day": {"type": "date"}}}}}
    schema, diags = schema_from_dict(data)
    assert schema is not None, diags
    rule, diags = check_expression(parse_expression("(logs) followed by (logs) within 1 day").expr, schema)
    assert rule is None
    assert {(d.code, d.message, d.help) for d in diags} == {
        ("E0150", "`logs` is not an event source: the schema declares no `time` for it",
         'add `time = "logged_at"` under `[sources.logs]` in the schema')}
    for time, what in (("on_day", "is a date column"), ("nope", "is not one of its columns")):
        data["sources"]["logs"]["time"] = time
        schema, diags = schema_from_dict(data)
        assert schema is None
        assert [d.code for d in diags] == ["E0302"] and what in diags[0].message, diags


@pytest.mark.parametrize("text,code", [
    ("(events) followed by (events) within 0 days", "E0151"),
    ("(events) followed by (events) within 100001 days", "E0118"),
    ("count(events where (visits) followed by (visits) within 1 day) > 0", "E0151"),
    ("(event) followed by (events) within 1 day", "E0130"),
    ('(events where flag) followed by (events) within 1 day', "E0101"),
    ("(tier) followed by (events) within 1 day", "E0130"),
    ("(spend > 1) followed by (events) within 1 day", "E0010"),
])
def test_sequence_diagnostics(text, code):
    parsed = parse_expression(text)
    if parsed.expr is None:
        assert [d.code for d in parsed.diagnostics] == [code]
        return
    rule, diags = check_expression(parsed.expr, SCHEMA)
    assert rule is None and code in [d.code for d in diags], diags


# ----------------------------------------------------------------- the merge on its own

#: How the events reach the merge: as sorted, as sorted with a few neighbours swapped (a
#: source stored by entity), in no order (a source stored in time order), reversed.
STORED = st.sampled_from(["sorted", "nearly", "shuffled", "reversed"])


def _stored(by: np.ndarray, stored: str, seed: int) -> np.ndarray:
    """The positions of rows stored as ``stored`` says, ``by`` being their sorted order."""
    rng = np.random.default_rng(seed)
    match stored:
        case "sorted" | "nearly":
            out = by.copy()
            if stored == "nearly" and len(out) > 1:  # about one pair in a hundred swapped
                at = 2 * np.unique(rng.integers(0, len(out) // 2, size=max(1, len(out) // 100)))
                out[at], out[at + 1] = out[at + 1], out[at].copy()
            return out
        case "shuffled":
            return rng.permutation(len(by))
    return by[::-1].copy()


#: Values of `_NEARLY_SORTED` that send any keys to timsort alone (1), decide by the
#: keys (the default), or send any keys not in order of their top bits through the
#: radix sort first (2**62).
PATHS = [1, memory_profile._NEARLY_SORTED, 2**62]


@given(bits=st.integers(0, 63), size=st.integers(0, 3_000), distinct=st.integers(1, 4_000), stored=STORED,
       seed=st.integers(0, 2**32 - 1), path=st.sampled_from(PATHS))
def test_the_merge_sort_is_numpys_stable_sort(bits, size, distinct, stored, seed, path):
    # Keys of every width a key can have (0 to 63 bits), with ties (`distinct` values
    # at most), stored in each order, down each path: the permutation must be the stable
    # one, the one np.lexsort gives, and the keys returned the keys in that order.
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**bits, size=distinct, dtype=np.uint64).astype(np.int64) if bits else np.zeros(1, np.int64)
    key = rng.choice(pool, size=size)
    key = key[_stored(np.argsort(key, kind="stable"), stored, seed)]
    with patch.object(memory_profile, "_NEARLY_SORTED", path):
        order, sorted_key = memory_profile._stable_sort(key.copy())
    assert order.tolist() == np.lexsort((key,)).tolist()
    assert sorted_key.tolist() == sorted(key.tolist())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("stored", ["sorted", "nearly", "shuffled", "reversed"])
def test_the_merge_sort_at_scale(stored, path):
    # 200,000 keys of 62 bits, each value twice.
    rng = np.random.default_rng(7)
    key = np.repeat(rng.integers(0, 2**62, size=100_000, dtype=np.int64), 2)
    key = key[_stored(np.argsort(key, kind="stable"), stored, 7)]
    with patch.object(memory_profile, "_NEARLY_SORTED", path):
        order, sorted_key = memory_profile._stable_sort(key)
    assert np.array_equal(order, np.lexsort((key,)))
    assert np.array_equal(sorted_key, key[order])


@given(entities=st.integers(1, 40), a=st.integers(0, 60), b=st.integers(0, 120),
       spread=st.sampled_from([5, 1_000, 2**40]), window=st.sampled_from([0, 1, 3, 7, 2**39]), stored=STORED,
       seed=st.integers(0, 2**32 - 1), key_bits=st.sampled_from([62, 24, 12]), path=st.sampled_from(PATHS))
def test_the_merge_finds_each_a_events_window_by_definition(entities, a, b, spread, window, stored, seed, key_bits,
                                                            path):
    # Entity rows and instants drawn close together (ties in time, B events on a window's
    # edges), stored in each order, with sort keys wide enough and too narrow for the
    # instants: for each A event, whether some B event of its entity falls in (tA, tA + N].
    rng = np.random.default_rng(seed)

    def events(count):
        rows = rng.integers(0, entities, size=count)
        times = rng.integers(-spread, spread, size=count) * (1 + rng.integers(0, 2, size=count))
        at = _stored(np.lexsort((times, rows)), stored, seed)
        return rows[at], times[at]

    (ea, ta), (eb, tb) = events(a), events(b)
    want = [bool(np.any((eb == e) & (tb > t) & (tb <= t + window))) for e, t in zip(ea.tolist(), ta.tolist())]
    with patch.object(memory_profile, "_KEY_BITS", key_bits), patch.object(memory_profile, "_NEARLY_SORTED", path):
        got = memory_profile._windows_hit(ea, ta, eb, tb, window, entities)
    assert got.tolist() == want


# ----------------------------------------------------------------- the docs

LANGUAGE = (__import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text("utf-8")
SECTION = LANGUAGE.split("### Event sequences", 1)[1].split("\n### ", 1)[0]


def test_the_docs_examples_check_against_the_hospitality_schema():
    from segdsl.check.traits import load_schema

    schema, diags = load_schema(__import__("pathlib").Path(__file__).resolve().parent.parent
                                / "examples" / "hospitality" / "schema.toml")
    assert schema is not None, diags
    block = SECTION.split("```\n", 2)[1]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 3
    for line in lines:
        rule, diags = check_expression(parse_expression(line).expr, schema)
        assert rule is not None and not diags, (line, diags)
        assert isinstance(rule, ir.Sequence)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.split(" ")[0].replace("Z", "+00:00"))


def test_the_docs_boundary_table_holds_on_every_engine(engines):
    rows = [line for line in SECTION.splitlines() if line.startswith(("| 2026", "| none"))]
    assert len(rows) == 6, rows
    for row in rows:
        b_at, as_of, followed, not_followed = (c.strip() for c in row.strip("|").split("|"))
        events = [(1, A_TIME, "a")] + ([] if b_at == "none" else [(1, _instant(b_at), "b")])
        as_of = _instant(as_of)
        assert (_members(FOLLOWED, events, as_of, engines) == [1]) is (followed == "true"), row
        assert (_members(NOT_FOLLOWED, events, as_of, engines) == [1]) is (not_followed == "true"), row


def test_without_a_pinned_as_of_the_database_clock_decides(engines):
    """Compiled without an as-of, each engine reads its clock as the as-of instant."""
    now = dt.datetime.now(UTC)
    events = [(1, now - 10 * DAY, "a"),  # closed long ago, never followed
              (2, now - DAY / 2, "a"),  # its 1-day window is still open
              (3, now - 3 * DAY, "a"), (3, now - 3 * DAY + DAY / 2, "b"),  # followed
              (4, now - DAY / 2, "a"), (4, now + DAY / 4, "b")]  # B is in the future
    expected = {FOLLOWED: [3], NOT_FOLLOWED: [1]}
    for text, members in expected.items():
        assert _members(text, events, now, engines) == members
        rule, _ = check_expression(parse_expression(text).expr, SCHEMA)
        for name, engine in engines.items():
            compiled = compile_rule(rule, SCHEMA, target=engine.dialect)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql, compiled.params) == members, (name, text)


# ----------------------------------------------------------------- text

@pytest.mark.parametrize("text", [
    "(events) followed by (visits) within 1 day",
    '(events where kind = "a" and (amount > 1 or amount is null)) not followed by (events) within 2 weeks',
    "not ((visits where not flag) followed by (visits where flag) within 30 days) or tier = \"a\"",
    "((events)) followed by (events) within 1 days",
])
def test_printing_and_formatting_keep_the_meaning(text):
    from segdsl.syntax.formatter import format_source
    from segdsl.syntax.printer import print_expr

    parsed = parse_expression(text).expr
    assert parsed is not None
    printed = print_expr(parsed)
    assert parse_expression(printed).expr == parsed
    source = f"segment s {{\n    where {text}  # why\n}}\n"
    formatted, diags = format_source(source)
    assert formatted is not None and not diags, diags
    assert format_source(formatted)[0] == formatted
    assert "# why" in formatted
    (seg,) = parse_source("s.seg", formatted).module.segments
    assert seg.where == parsed
    rule, diags = check_expression(parsed, SCHEMA)
    assert rule is not None, diags


def test_explain_traces_a_sequence_with_the_row_evaluator():
    import segdsl

    ws = segdsl.load_project(__import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "hospitality")
    at = "2026-11-01"
    members = segdsl.members(ws, "cancelled_not_rebooked", as_of=at).members["cancelled_not_rebooked"]
    trace = segdsl.explain_member(ws, "cancelled_not_rebooked", str(members[0]), as_of=at)
    assert trace.verdict == "true" and trace.member
    assert trace.root.kind == "sequence" and "not followed by" in trace.root.text
    assert trace.root.details["sequence"] == "not followed by"
    assert trace.root.details["window_seconds"] == 30 * 86_400
    assert trace.root.details["first"] == trace.root.details["then"] == "bookings"
    everyone = segdsl.members(ws, "all_customers", as_of=at).members["all_customers"]
    outside = next(k for k in everyone if k not in set(members))
    trace = segdsl.explain_member(ws, "cancelled_not_rebooked", str(outside), as_of=at)
    assert trace.verdict == "false" and not trace.member
