"""One rule, one answer, everywhere — proven member by member.

Hypothesis generates data (NULLs, empty strings, quotes, `%`, `_`, backslashes,
accents, negative numbers, 64-bit and 2^53 boundaries, leap days, DST days, the last
microsecond of a day, dates and instants anywhere in the years 0001-9999 and at their
edges, instants exactly N hours before a pinned as-of and a microsecond either side,
decimals of two scales that tie or differ in their last place, int or text keys) and
rules over every construct of the language, fields compared with fields included, as source
text, evaluated at an as-of instant that may sit at either end of the calendar. Each
rule is parsed and checked, then evaluated by the row evaluator, the columnar
evaluator, Postgres, a Postgres database with a non-C collation, DuckDB, SQLite and
MariaDB; all must return exactly the same member keys, in the same (code point) order.

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

FIELDS = {
    "i": {"type": "int"},
    "d": {"type": "decimal(12, 2)", "column": "money"},
    "f": {"type": "float"},
    "t": {"type": "text"},
    "e": {"type": "enum", "values": ["Gold", "Silver", "gold"]},
    "b": {"type": "bool"},
    "joined": {"type": "date"},
    "ts": {"type": "timestamp"},
    "tags": {"type": "tags"},
    "d4": {"type": "decimal(15, 4)", "column": "money4"},
    "ts2": {"type": "timestamp"},
    "since": {"days_since": "ts"},
}


def _schema(table: str, key_type: str):
    schema, diagnostics = schema_from_dict(
        {
            "entity": "guest",
            "table": table,
            "key": "id",
            "fields": {"id": {"type": key_type, "nullable": False}, **FIELDS},
        }
    )
    assert schema is not None, diagnostics
    return schema


#: The same fields keyed by int and by text.
SCHEMA = _schema("cross_engine", "int")
TEXT_SCHEMA = _schema("cross_engine_text", "text")
UTC = dt.timezone.utc

# ------------------------------------------------------------------------ data

INTS = [-(2**63), -(2**63) + 1, -(2**53) - 1, -(2**53), -3, -2, -1, 0, 1, 2, 3, 2**53, 2**53 + 1, 2**63 - 1]
DECIMALS = [Decimal(x) for x in ("-9999999999.99", "-150000.50", "-1.00", "-0.13", "-0.12", "-0.01", "0.00",
                                 "0.12", "0.13", "150000.00", "9999999999.99")]
#: A decimal of another scale: equal to a DECIMALS value, or just either side of one.
DECIMALS4 = [Decimal(x) for x in ("-99999999999.9999", "-9999999999.9900", "-150000.5000", "-1.0000", "-0.1300",
                                  "-0.1299", "-0.1201", "-0.0001", "0.0000", "0.0001", "0.1199", "0.1200", "0.1250",
                                  "0.1300", "1.0000", "2.0000", "150000.0000", "9999999999.9901", "99999999999.9999")]
FLOATS = [-1e10, -2.5, -1.5, -0.1, 0.0, 0.1, 2.5, 1e10]
#: Text keys: case and accent variants, trailing and non-breaking spaces, digits that
#: sort differently as text, the empty string, a character beyond the BMP.
KEYS = ["a", "A", "a ", "B", "b", "é", "É", "", "_", "ß", "1", "10", "9", "z\u00a0", "\U0001f600", "%",
        # Odd keys for split buckets: the separator, quotes, a backslash, a leading space.
        ":", "a:b", "'", '"', "\\", " a", "-1"]
#: Int keys beyond 1, 2, ...: the edges of the 64-bit range (their decimal text is hashed).
INT_KEYS = INTS + [-10, 10, 99, 1000, 10**18]
#: Salts of the generated splits and holdouts: the separator, quotes, a backslash, accents.
SALTS = ["s", "winback-2026-12", "é:ß", 'q"\\x', "50%_off"]
TEXT_ALPHABET = "aAbB%_\\'\" éÉ-@"
TEXTS = st.one_of(
    st.sampled_from(["", "Gold", "gold", "GOLD", "50%_off", "50xoff", "c\\d", "a_b", "é", "É", "x@GMAIL.com"]),
    st.text(alphabet=TEXT_ALPHABET, max_size=5),
)
#: Days that matter: leap days, DST days, month ends, and the edges of the calendar
#: (years 0001-9999, where a day window's bound may fall beyond it).
EDGE_DAYS = [dt.date(*d) for d in [(1, 1, 1), (1, 1, 2), (99, 12, 31), (100, 1, 1), (999, 12, 31), (1000, 1, 1),
                                   (9999, 12, 30), (9999, 12, 31)]]
DAYS = [dt.date(*d) for d in [(2024, 2, 28), (2024, 2, 29), (2024, 3, 1), (2024, 3, 30), (2024, 3, 31),
                              (2024, 4, 1), (2025, 11, 1), (2026, 10, 31), (2026, 11, 1), (2026, 11, 2),
                              (2000, 1, 1), (2026, 10, 2)]] + EDGE_DAYS
#: A day: mostly one that matters, sometimes any day of the calendar.
DAY = st.one_of(st.sampled_from(DAYS), st.sampled_from(DAYS), st.dates())
TIMES = [dt.time(0, 0), dt.time(23, 59, 59, 999_999), dt.time(1, 30), dt.time(12, 0)]
TAG_WORDS = ["spa", "golf", "a%", "b_", "Spa"]
AS_OF = [dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC),
         dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC),
         dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 3, 12, tzinfo=UTC), dt.datetime(1000, 1, 1, tzinfo=UTC),
         dt.datetime(9999, 12, 30, 23, tzinfo=UTC), dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
#: Day counts: small ones, and spans that reach beyond the calendar from its edges.
SPANS = [0, 1, 2, 30, 365, 800, 99_999, 100_000]
#: Hour counts: small ones, and spans that reach beyond the calendar from its edges.
HOUR_SPANS = [0, 1, 2, 6, 48, 24 * 800, 2_400_000]


def _hour_edge(as_of: dt.datetime, hours: int, micros: int) -> dt.datetime | None:
    try:
        return as_of - dt.timedelta(hours=hours, microseconds=-micros)
    except OverflowError:
        return None


#: Instants at an hour window's edge for the pinned as-of instants: exactly N hours
#: before one, and one microsecond either side.
HOUR_EDGES = [t for a in AS_OF for h in HOUR_SPANS for us in (-1, 0, 1)
              if (t := _hour_edge(a, h, us)) is not None]
TIMESTAMPS = st.one_of(
    st.builds(lambda d, t: dt.datetime.combine(d, t, UTC), DAY, st.sampled_from(TIMES)),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(HOUR_EDGES),
)


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
        "joined": nullable(DAY),
        "ts": nullable(TIMESTAMPS),
        "tags": nullable(st.frozensets(st.sampled_from(TAG_WORDS), max_size=3)),
        "money4": nullable(st.sampled_from(DECIMALS4)),
        "ts2": nullable(TIMESTAMPS),
    }
)
#: Steps between two fields a rule compares, so that they often tie or differ by the
#: least amount each can: a ten-thousandth, half a hundredth, a microsecond.
NUDGES = [Decimal(x) for x in ("0", "0", "0.0001", "-0.0001", "0.005", "-0.0099", "1")]


@st.composite
def row(draw):
    """A row whose second decimal and second timestamp are now and then the first
    field's value nudged, the cases a field-to-field comparison decides exactly."""
    r = draw(ROW)
    base = draw(st.sampled_from(["money", "i", "none"]))
    if base != "none" and r[base] is not None:
        value = Decimal(r[base]) + draw(st.sampled_from(NUDGES))
        if abs(value) < Decimal("1e11"):
            r["money4"] = value.quantize(Decimal("0.0001"))
    if r["ts"] is not None and draw(st.booleans()):
        try:
            r["ts2"] = r["ts"] + dt.timedelta(microseconds=draw(st.sampled_from([0, 1, -1, 86_400_000_000])))
        except OverflowError:
            pass
    return r

# ----------------------------------------------------------------------- rules


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
EQ_OPS = st.sampled_from(["=", "!="])


def _list(values) -> str:
    return "[" + ", ".join(values) + "]"


@st.composite
def tag_predicate(draw):
    """`tags has x`, `has any [...]` or `has all [...]`: the lists hold two or three
    distinct words most often, so that a row holding some of them but not all (which
    tells `has any` from `has all`) is common; now and then a repeated word."""
    tags = draw(st.one_of(st.lists(st.sampled_from(TAG_WORDS), min_size=2, max_size=3, unique=True),
                          st.lists(st.sampled_from(TAG_WORDS), min_size=1, max_size=3)))
    form = draw(st.sampled_from(["has", "has any", "has all"]))
    return f"tags has {_str(tags[0])}" if form == "has" else f"tags {form} {_list(map(_str, tags))}"


@st.composite
def predicate(draw):
    kind = draw(st.integers(0, 26))
    if kind == 0:
        return f"i {draw(OPS)} {draw(st.sampled_from(INTS))}"
    if kind == 1:
        vals = draw(st.lists(st.sampled_from(INTS), min_size=1, max_size=3))
        return f"i {draw(st.sampled_from(['in', 'not in']))} {_list(map(str, vals))}"
    if kind == 2:
        lo, hi = draw(st.sampled_from(INTS)), draw(st.sampled_from(INTS))
        return f"i {draw(st.sampled_from(['between', 'not between']))} {lo} and {hi}"
    if kind == 3:
        lit = draw(st.sampled_from(["0.125", "0.13", "0.12", "150000", "-1", "0", "9999999999.99", "0.1", "-0.125",
                                    "-0.13", "-0.005", "-150000.5", "-9999999999.99", "-10000000000"]))
        return f"d {draw(OPS)} {lit}"
    if kind == 4:
        return f"f {draw(OPS)} {draw(st.sampled_from(['0.1', '2.5', '0', '-1.5', '-0.1', '10000000000', '-10000000000']))}"
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
        return f"joined {draw(OPS)} {draw(DAY).isoformat()}"
    if kind == 11:
        n = draw(st.sampled_from(SPANS))
        field = draw(st.sampled_from(["joined", "ts"]))
        form = draw(st.sampled_from([f"within {n} days", f"before {n} days ago", f"after {n} days ago",
                                     f"within {max(n // 7, 1)} weeks"]))
        return f"{field} {form}"
    if kind == 12:
        field = draw(st.sampled_from(["joined", "ts"]))
        return f"days_since({field}) {draw(OPS)} {draw(st.sampled_from([-100_000, -1, 0, 1, 29, 30, 180, 365, 100_000]))}"
    if kind == 13:
        ts = draw(TIMESTAMPS).isoformat().replace("+00:00", "Z")
        return f"ts {draw(OPS)} {ts}"
    if kind == 14:
        return f"ts {draw(OPS)} {draw(DAY).isoformat()}"
    if kind == 15:
        field = draw(st.sampled_from(["i", "d", "f", "t", "e", "b", "joined", "ts", "tags", "d4", "ts2"]))
        return f"{field} is {draw(st.sampled_from(['', 'not ']))}null"
    if kind == 16:
        return draw(tag_predicate())
    if kind == 17:
        return f"since {draw(OPS)} {draw(st.sampled_from([-1, 0, 1, 30, 180, 99_999]))}"
    if kind == 18:
        return f"ts {draw(st.sampled_from(['in', 'not in']))} {_list(d.isoformat() for d in draw(st.lists(DAY, min_size=1, max_size=2)))}"
    if kind == 19:
        return draw(st.sampled_from(["in segment base", "not in segment base", "in segment vip"]))
    if kind in (21, 23):
        # Two fields of comparable kinds; exact numbers of different scales most often.
        pair = draw(st.one_of(
            st.sampled_from([("i", "d"), ("d", "d4"), ("i", "d4"), ("d4", "i"), ("d4", "d")]),
            st.sampled_from([("i", "i"), ("f", "f"), ("joined", "joined"), ("ts", "ts2"), ("t", "e"), ("e", "t"),
                             ("t", "t"), ("b", "b"), ("since", "days_since(joined)"), ("days_since(ts2)", "since"),
                             ("ts2", "ts")]),
        ))
        textual = pair[0] in ("t", "e", "b")
        return f"{pair[0]} {draw(EQ_OPS if textual else OPS)} {pair[1]}"
    if kind in (22, 24):
        n = draw(st.sampled_from(HOUR_SPANS))
        unit = "hour" if n == 1 and draw(st.booleans()) else "hours"
        form = draw(st.sampled_from([f"within {n} {unit}", f"before {n} {unit} ago", f"after {n} {unit} ago"]))
        return f"{draw(st.sampled_from(['ts', 'ts2']))} {form}"
    if kind == 25:
        return f"{draw(st.sampled_from(['', 'not ']))}in split ab.{draw(st.sampled_from(['x', 'y', 'z', 'none']))}"
    if kind == 26:
        return f"{draw(st.sampled_from(['', 'not ']))}in holdout hold"
    return f"days_since(joined) {draw(st.sampled_from(['between 0 and 30', 'in [0, 1, 365]', 'not in [0]', 'between -5 and -1', 'in [-1, 99999]']))}"


def combine(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda xs: "(" + " and ".join(xs) + ")"),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: "(" + " or ".join(xs) + ")"),
        children.map(lambda x: f"not ({x})"),
    )


#: What a ranking ranks: numbers, dates, timestamps and day counts (ties are common:
#: the values come from short lists).
RANKED = ["i", "d", "f", "joined", "ts", "since", "days_since(joined)", "days_since(ts)"]


@st.composite
def ranking(draw, in_base: bool = False):
    """`X in top P%` or `top N by X`, over every row, a segment (not `base` inside
    `base`, which would be a cycle) or a rule, which may itself rank."""
    simple = predicate().filter(lambda p: "segment" not in p)
    populations = ["", " among in segment vip", f" among ({draw(simple)})"]
    if not in_base:
        populations += [" among in segment base", " among (not in segment base)"]
    if draw(st.integers(0, 5)) == 0:
        populations.append(f" among (top {draw(st.sampled_from([1, 3]))} by {draw(st.sampled_from(RANKED))})")
    among = draw(st.sampled_from(populations))
    value = draw(st.sampled_from(RANKED))
    if draw(st.booleans()):
        p = draw(st.sampled_from(["10", "25", "50", "100", "0.5", "33.3333", "12.5", "90", "1"]))
        return f"{value} in top {p}%{among}"
    return f"top {draw(st.sampled_from([1, 2, 3, 5, 10, 2**63 - 1]))} by {value}{among}"


BASE_RULES = st.recursive(st.one_of(predicate().filter(lambda p: "segment" not in p), ranking(in_base=True)),
                          combine, max_leaves=5)
#: Tag predicates are drawn on their own as well as among the predicates: `has all` and
#: `has any` differ only on rows holding some of the words, which a rule nested in
#: and/or/not otherwise reaches too rarely to catch one compiled as the other.
_GENERAL = st.recursive(st.one_of(predicate(), predicate(), ranking(), tag_predicate()), combine, max_leaves=8)
#: One rule in eight is made of tag predicates alone.
RULES = st.one_of(*[_GENERAL] * 7, st.recursive(tag_predicate(), combine, max_leaves=3))


#: Splits and holdouts the generated rules test: arms of 10%, 45.5%, 44.5% and 0%, and a
#: holdout of a share drawn from SHARES (99.99%: all but the last bucket).
SHARES = ["5", "50", "0.01", "99.99"]


def splits_text(split_salt: str = "s", holdout_salt: str = "h", share: str = "50") -> str:
    return (f"split ab {{ salt {_str(split_salt)}  x 10%  y 45.50%  z 44.5%  none 0% }}\n"
            f"holdout hold {share}% salt {_str(holdout_salt)}\n")


SPLITS = st.builds(splits_text, st.sampled_from(SALTS), st.sampled_from(SALTS), st.sampled_from(SHARES))


def module_text(base: str, main: str, text_keys: bool = False, splits: str | None = None) -> str:
    members = _list(map(_str, ["a", "B", "é", "a ", "zz"])) if text_keys else "[1, 3, 99]"
    return (
        (splits_text() if splits is None else splits)
        + f"segment base {{ where {base} }}\n"
        f"static segment vip {{ members {members} }}\n"
        f"segment main {{ where {main} }}\n"
    )


# ---------------------------------------------------------------------- engines


def _count(engine, schema, expression) -> int:
    from sqlglot import exp

    sql = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(schema.table, quoted=True)).where(expression)
    return fetch_count(engine, sql.sql(engine.dialect, identify=True))


def _norec_sum(engine, schema, expression) -> int:
    from sqlglot import exp

    case = exp.Case(ifs=[exp.If(this=expression, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    sql = exp.select(exp.Coalesce(this=exp.Sum(this=case), expressions=[exp.Literal.number(0)])).from_(
        exp.to_table(schema.table, quoted=True)
    )
    return fetch_count(engine, sql.sql(engine.dialect, identify=True))


#: (engine, table) pairs whose tables exist already: later examples empty and refill them.
CREATED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def engines(pg, pg_collated, maria):
    """One connection per engine; every example reloads the table from scratch. Each
    engine runs the SQL compiled for its dialect (``engine.dialect``)."""
    from segdsl.data.engines import connect

    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    CREATED.clear()
    yield {"postgres": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck, "sqlite": lite, "mysql": maria}
    duck.close()
    lite.close()


@st.composite
def keyed_rows(draw):
    """(schema, records): rows keyed 1, 2, ... or by distinct text keys."""
    rows = draw(st.lists(row(), max_size=10))
    if not draw(st.booleans()):
        if draw(st.booleans()):
            return SCHEMA, [{"id": i + 1, **r} for i, r in enumerate(rows)]
        keys = draw(st.lists(st.sampled_from(INT_KEYS), min_size=len(rows), max_size=len(rows), unique=True))
        return SCHEMA, [{"id": k, **r} for k, r in zip(keys, rows)]
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=len(rows), max_size=len(rows), unique=True))
    return TEXT_SCHEMA, [{"id": k, **r} for k, r in zip(keys, rows)]


@given(
    data=keyed_rows(),
    base=BASE_RULES,
    main=RULES,
    as_of=st.one_of(st.sampled_from(AS_OF), st.datetimes(timezones=st.just(UTC))),
    params=st.booleans(),
    splits=SPLITS,
)
def test_every_engine_returns_the_same_members(engines, data, base, main, as_of, params, splits):
    from sqlglot import exp

    schema, records = data
    text_keys = schema is TEXT_SCHEMA
    text = module_text(base, main, text_keys, splits)
    note(text)
    parsed = parse_source("prop.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    checked = check_modules([parsed.module], schema)
    errors = [d for d in checked.diagnostics if d.is_error]
    assert not errors, errors
    rule = checked.segments["main"].rule

    # In memory: the row evaluator judges TRUE and FALSE; the rest is unknown. A ranking
    # needs the whole table.
    table = Table.from_records(schema, records)
    is_true = compile_row(rule, as_of, table)
    is_false = compile_row(ir.Not(rule), as_of, table)
    # Members are listed by key, text keys in code point order.
    expected = sorted(r["id"] for r in records if is_true(r))
    false_keys = {r["id"] for r in records if is_false(r)}
    assert not set(expected) & false_keys, "a row cannot be both TRUE and FALSE"
    unknown = len(records) - len(expected) - len(false_keys)

    assert member_keys(rule, table, as_of) == expected, "columnar evaluator disagrees with the row evaluator"

    for name, engine in engines.items():
        load_records(engine, schema, records, create=(name, schema.table) not in CREATED)
        CREATED.add((name, schema.table))
        # Both layouts run: pretty and compact SQL are generated from the same tree.
        compiled = compile_rule(rule, schema, target=engine.dialect, as_of=as_of,
                                params=params and engine.binds_named_params, pretty=params)
        assert compiled.ok, compiled.diagnostics
        note(f"{name}: {compiled.sql} {compiled.params}")
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, f"{name} disagrees"

        # TLP: p, NOT p and (p) IS NULL partition the table, and agree with memory.
        p = lambda: condition(rule, schema, target=engine.dialect, as_of=as_of)[0]  # noqa: E731
        n_true = _count(engine, schema, p())
        n_false = _count(engine, schema, exp.Not(this=exp.Paren(this=p())))
        n_null = _count(engine, schema, exp.Is(this=exp.Paren(this=p()), expression=exp.Null()))
        assert (n_true, n_false, n_null) == (len(expected), len(false_keys), unknown), f"{name}: TLP"
        # NoREC: filtering and summing agree.
        assert _norec_sum(engine, schema, p()) == n_true, f"{name}: NoREC"
