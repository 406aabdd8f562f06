"""One rule, one answer, everywhere — proven member by member.

Hypothesis generates data (NULLs, empty strings, quotes, `%`, `_`, backslashes,
accents, 64-bit and 2^53 boundaries, leap days, DST days, the last microsecond of a
day) and rules over every construct of the language, as source text. Each rule is
parsed and checked, then evaluated by the row evaluator, the columnar evaluator,
Postgres, DuckDB and SQLite; all five must return exactly the same member keys.

Two oracles from SQLancer check each SQL engine against itself:
TLP — rows where p, where NOT p and where (p) IS NULL partition the table exactly
(and the unknown rows are the ones the in-memory evaluators judge neither way);
NoREC — COUNT(*) WHERE p equals SUM(CASE WHEN p THEN 1 ELSE 0 END).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from segdsl import ir
from segdsl.check.checker import check_modules
from segdsl.data.tables import Table
from segdsl.data.engines import fetch_count, fetch_keys, load_records
from segdsl.backends.memory import compile_row, member_keys
from segdsl.syntax.parser import parse_source
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule, condition

SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "cross_engine",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "i": {"type": "int"},
            "d": {"type": "decimal(12, 2)", "column": "money"},
            "f": {"type": "float"},
            "t": {"type": "text"},
            "e": {"type": "enum", "values": ["Gold", "Silver", "gold"]},
            "b": {"type": "bool"},
            "joined": {"type": "date"},
            "ts": {"type": "timestamp"},
            "tags": {"type": "tags"},
            "since": {"days_since": "ts"},
        },
    }
)
assert SCHEMA is not None, _
UTC = dt.timezone.utc

# ------------------------------------------------------------------------ data

INTS = [-(2**63), -1, 0, 1, 2, 3, 2**53, 2**53 + 1, 2**63 - 1]
DECIMALS = [Decimal(x) for x in ("-1.00", "0.00", "0.12", "0.13", "150000.00", "9999999999.99")]
FLOATS = [-1.5, 0.0, 0.1, 2.5, 1e10]
TEXT_ALPHABET = "aAbB%_\\'\" éÉ-@"
TEXTS = st.one_of(
    st.sampled_from(["", "Gold", "gold", "GOLD", "50%_off", "50xoff", "c\\d", "a_b", "é", "É", "x@GMAIL.com"]),
    st.text(alphabet=TEXT_ALPHABET, max_size=5),
)
DAYS = [dt.date(*d) for d in [(2024, 2, 28), (2024, 2, 29), (2024, 3, 1), (2024, 3, 30), (2024, 3, 31),
                              (2024, 4, 1), (2025, 11, 1), (2026, 10, 31), (2026, 11, 1), (2026, 11, 2),
                              (2000, 1, 1), (2026, 10, 2)]]
TIMES = [dt.time(0, 0), dt.time(23, 59, 59, 999_999), dt.time(1, 30), dt.time(12, 0)]
TIMESTAMPS = st.builds(lambda d, t: dt.datetime.combine(d, t, UTC), st.sampled_from(DAYS), st.sampled_from(TIMES))
TAG_WORDS = ["spa", "golf", "a%", "b_", "Spa"]
AS_OF = [dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC),
         dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)]


def nullable(strategy):
    return st.one_of(st.none(), strategy)


ROW = st.fixed_dictionaries(
    {
        "i": nullable(st.sampled_from(INTS)),
        "money": nullable(st.sampled_from(DECIMALS)),
        "f": nullable(st.sampled_from(FLOATS)),
        "t": nullable(TEXTS),
        "e": nullable(st.sampled_from(["Gold", "Silver", "gold"])),
        "b": nullable(st.booleans()),
        "joined": nullable(st.sampled_from(DAYS)),
        "ts": nullable(TIMESTAMPS),
        "tags": nullable(st.frozensets(st.sampled_from(TAG_WORDS), max_size=3)),
    }
)

# ----------------------------------------------------------------------- rules


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
EQ_OPS = st.sampled_from(["=", "!="])


def _list(values) -> str:
    return "[" + ", ".join(values) + "]"


@st.composite
def predicate(draw):
    kind = draw(st.integers(0, 20))
    if kind == 0:
        return f"i {draw(OPS)} {draw(st.sampled_from(INTS))}"
    if kind == 1:
        vals = draw(st.lists(st.sampled_from(INTS), min_size=1, max_size=3))
        return f"i {draw(st.sampled_from(['in', 'not in']))} {_list(map(str, vals))}"
    if kind == 2:
        lo, hi = draw(st.sampled_from(INTS)), draw(st.sampled_from(INTS))
        return f"i {draw(st.sampled_from(['between', 'not between']))} {lo} and {hi}"
    if kind == 3:
        lit = draw(st.sampled_from(["0.125", "0.13", "0.12", "150000", "-1", "0", "9999999999.99", "0.1"]))
        return f"d {draw(OPS)} {lit}"
    if kind == 4:
        return f"f {draw(OPS)} {draw(st.sampled_from(['0.1', '2.5', '0', '-1.5', '10000000000']))}"
    if kind == 5:
        return f"t {draw(EQ_OPS)} {_str(draw(TEXTS))}"
    if kind == 6:
        vals = draw(st.lists(TEXTS, min_size=1, max_size=3))
        return f"t {draw(st.sampled_from(['in', 'not in']))} {_list(map(_str, vals))}"
    if kind == 7:
        op = draw(st.sampled_from(["contains", "starts with", "ends with"]))
        case = draw(st.sampled_from(["", " ignoring case"]))
        return f"t {op} {_str(draw(TEXTS))}{case}"
    if kind == 8:
        vals = draw(st.lists(st.sampled_from(["Gold", "Silver", "gold"]), min_size=1, max_size=2))
        return draw(st.sampled_from([f'e = {_str(vals[0])}', f'e != {_str(vals[0])}', f"e in {_list(map(_str, vals))}"]))
    if kind == 9:
        return draw(st.sampled_from(["b", "not b", "b = true", "b = false", "b != true"]))
    if kind == 10:
        return f"joined {draw(OPS)} {draw(st.sampled_from(DAYS)).isoformat()}"
    if kind == 11:
        n = draw(st.sampled_from([0, 1, 2, 30, 365, 800]))
        field = draw(st.sampled_from(["joined", "ts"]))
        form = draw(st.sampled_from([f"within {n} days", f"before {n} days ago", f"after {n} days ago",
                                     f"within {max(n // 7, 1)} weeks"]))
        return f"{field} {form}"
    if kind == 12:
        field = draw(st.sampled_from(["joined", "ts"]))
        return f"days_since({field}) {draw(OPS)} {draw(st.sampled_from([-1, 0, 1, 29, 30, 180, 365]))}"
    if kind == 13:
        ts = draw(TIMESTAMPS).isoformat().replace("+00:00", "Z")
        return f"ts {draw(OPS)} {ts}"
    if kind == 14:
        return f"ts {draw(OPS)} {draw(st.sampled_from(DAYS)).isoformat()}"
    if kind == 15:
        field = draw(st.sampled_from(["i", "d", "f", "t", "e", "b", "joined", "ts", "tags"]))
        return f"{field} is {draw(st.sampled_from(['', 'not ']))}null"
    if kind == 16:
        tags = draw(st.lists(st.sampled_from(TAG_WORDS), min_size=1, max_size=3))
        form = draw(st.sampled_from(["has", "has any", "has all"]))
        return f"tags has {_str(tags[0])}" if form == "has" else f"tags {form} {_list(map(_str, tags))}"
    if kind == 17:
        return f"since {draw(OPS)} {draw(st.sampled_from([0, 1, 30, 180]))}"
    if kind == 18:
        return f"ts {draw(st.sampled_from(['in', 'not in']))} {_list(d.isoformat() for d in draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=2)))}"
    if kind == 19:
        return draw(st.sampled_from(["in segment base", "not in segment base", "in segment vip"]))
    return f"days_since(joined) {draw(st.sampled_from(['between 0 and 30', 'in [0, 1, 365]', 'not in [0]']))}"


def combine(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda xs: "(" + " and ".join(xs) + ")"),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: "(" + " or ".join(xs) + ")"),
        children.map(lambda x: f"not ({x})"),
    )


BASE_RULES = st.recursive(predicate().filter(lambda p: "segment" not in p), combine, max_leaves=5)
RULES = st.recursive(predicate(), combine, max_leaves=8)


def module_text(base: str, main: str) -> str:
    return (
        f"segment base {{ where {base} }}\n"
        "static segment vip { members [1, 3, 99] }\n"
        f"segment main {{ where {main} }}\n"
    )


# ---------------------------------------------------------------------- engines


def _count(engine, expression) -> int:
    from sqlglot import exp

    sql = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(SCHEMA.table, quoted=True)).where(expression)
    return fetch_count(engine, sql.sql(engine.dialect, identify=True))


def _norec_sum(engine, expression) -> int:
    from sqlglot import exp

    case = exp.Case(ifs=[exp.If(this=expression, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    sql = exp.select(exp.Coalesce(this=exp.Sum(this=case), expressions=[exp.Literal.number(0)])).from_(
        exp.to_table(SCHEMA.table, quoted=True)
    )
    return fetch_count(engine, sql.sql(engine.dialect, identify=True))


#: Engines whose tables exist already: later examples empty and refill them.
CREATED: set[str] = set()


@pytest.fixture(scope="module")
def engines(pg, maria):
    """One connection per engine; every example reloads the table from scratch."""
    from segdsl.data.engines import connect

    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    CREATED.clear()
    yield {"postgres": pg, "duckdb": duck, "sqlite": lite, "mysql": maria}
    duck.close()
    lite.close()


@given(
    rows=st.lists(ROW, max_size=10),
    base=BASE_RULES,
    main=RULES,
    as_of=st.sampled_from(AS_OF),
    params=st.booleans(),
)
def test_every_engine_returns_the_same_members(engines, rows, base, main, as_of, params):
    from sqlglot import exp

    records = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    text = module_text(base, main)
    note(text)
    parsed = parse_source("prop.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    checked = check_modules([parsed.module], SCHEMA)
    errors = [d for d in checked.diagnostics if d.is_error]
    assert not errors, errors
    rule = checked.segments["main"].rule

    # In memory: the row evaluator judges TRUE and FALSE; the rest is unknown.
    is_true = compile_row(rule, as_of)
    is_false = compile_row(ir.Not(rule), as_of)
    expected = [r["id"] for r in records if is_true(r)]
    false_keys = {r["id"] for r in records if is_false(r)}
    assert not set(expected) & false_keys, "a row cannot be both TRUE and FALSE"
    unknown = len(records) - len(expected) - len(false_keys)

    table = Table.from_records(SCHEMA, records)
    assert member_keys(rule, table, as_of) == expected, "columnar evaluator disagrees with the row evaluator"

    for name, engine in engines.items():
        load_records(engine, SCHEMA, records, create=name not in CREATED)
        CREATED.add(name)
        # Both layouts run: pretty and compact SQL are generated from the same tree.
        compiled = compile_rule(rule, SCHEMA, target=name, as_of=as_of, params=params and engine.binds_named_params,
                                pretty=params)
        assert compiled.ok, compiled.diagnostics
        note(f"{name}: {compiled.sql} {compiled.params}")
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, f"{name} disagrees"

        # TLP: p, NOT p and (p) IS NULL partition the table, and agree with memory.
        p = lambda: condition(rule, SCHEMA, target=name, as_of=as_of)[0]  # noqa: E731
        n_true = _count(engine, p())
        n_false = _count(engine, exp.Not(this=exp.Paren(this=p())))
        n_null = _count(engine, exp.Is(this=exp.Paren(this=p()), expression=exp.Null()))
        assert (n_true, n_false, n_null) == (len(expected), len(false_keys), unknown), f"{name}: TLP"
        # NoREC: filtering and summing agree.
        assert _norec_sum(engine, p()) == n_true, f"{name}: NoREC"
