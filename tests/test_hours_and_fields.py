"""Hour windows and comparisons of two fields, pinned by hand: the exact edge of each
hour window and one microsecond either side, numbers that tie or differ in their last
place across scales, text that differs only in case or a trailing space. Every
evaluator and engine must give the hand-computed members; the SQL of each construct on
each verified target is a golden file; the language docs' examples of both constructs
check, compile and run; the checker's refusals name what to write instead."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.sql import compile_rule
from segdsl.check.checker import check_expression
from segdsl.check.traits import schema_from_dict
from segdsl.data.engines import fetch_keys, load_records
from segdsl.data.tables import Table
from segdsl.syntax.parser import parse_expression, parse_source
from segdsl.syntax.printer import print_expr

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 1, 12, tzinfo=UTC)

SCHEMA, _DIAGNOSTICS = schema_from_dict({
    "entity": "guest",
    "table": "hours_fields",
    "key": "id",
    "fields": {
        "id": {"type": "int", "nullable": False},
        "ts": {"type": "timestamp"},
        "ts2": {"type": "timestamp"},
        "on_day": {"type": "date"},
        "n": {"type": "int"},
        "cents": {"type": "decimal(12, 2)"},
        "tenths_of_cents": {"type": "decimal(15, 4)"},
        "x": {"type": "float"},
        "y": {"type": "float"},
        "name": {"type": "text"},
        "tier": {"type": "enum", "values": ["a", "A", "a "]},
        "flag": {"type": "bool"},
        "other_flag": {"type": "bool"},
        "since_ts": {"days_since": "ts"},
    },
})


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


#: Row id → the timestamp `ts`, around the edges of the windows at AS_OF (the table in
#: docs/language.md, "Hour windows").
INSTANTS = {
    1: "2026-10-30T00:00:00Z",
    2: "2026-10-30T11:59:59.999999Z",
    3: "2026-10-30T12:00:00Z",  # exactly 48 hours before
    4: "2026-10-30T12:00:00.000001Z",
    5: "2026-11-01T05:59:59.999999Z",
    6: "2026-11-01T06:00:00Z",  # exactly 6 hours before
    7: "2026-11-01T10:00:00Z",  # exactly 2 hours before
    8: "2026-11-01T10:00:00.000001Z",
    9: "2026-11-01T12:00:00Z",  # the as-of instant
    10: "2026-11-01T12:00:00.000001Z",
    11: "2026-11-01T23:59:59.999999Z",
}
#: Row id → (n, cents, tenths_of_cents, x, y, name, tier, flag, other_flag, day, ts2).
VALUES = {
    1: (0, "0.13", "0.1300", 0.1, 0.1, "a", "a", True, True, "2026-10-30", "2026-10-30T00:00:00Z"),
    2: (0, "0.13", "0.1301", 0.1, 0.2, "a", "A", True, False, "2026-10-31", "2026-10-30T11:59:59.999998Z"),
    3: (1, "1.00", "0.9999", 2.5, 2.5, "a ", "a ", False, False, "2026-10-30", "2026-10-30T12:00:00.000001Z"),
    4: (1, "0.99", "1.0000", -1.5, -2.5, "A", "a", None, True, None, None),
    5: (-1, "-1.00", "-1.0001", 0.0, -0.0, "é", "a", False, None, "2026-11-02", "2026-11-01T05:59:59.999999Z"),
    6: (None, "0.00", "0.0000", None, 1.0, None, None, True, True, "2026-11-01", "2026-11-01T06:00:00Z"),
    7: (-1, "-0.01", "-0.0100", 1e10, 1e10, "", "a", True, True, "2026-11-01", "2026-11-01T09:59:59Z"),
    8: (2, None, "2.0000", 1.0, 1.0, "b", "a", False, True, "2026-11-01", "2026-11-01T10:00:00.000001Z"),
    9: (-2, "-1.99", "-1.9900", 3.0, 2.0, "a", "a", True, None, "2026-11-01", "2026-11-01T12:00:00Z"),
    10: (9_223_372_036_854_775_807, "-0.13", "-0.1299", 0.5, 0.25, "a", "a", False, False, "2026-10-01",
         "2026-11-01T12:00:00Z"),
    11: (5, "5.00", None, -0.5, -0.5, "A", "A", True, False, "2026-11-02", "2026-11-02T00:00:00Z"),
}
ROWS = [
    {"id": i, "ts": _at(INSTANTS[i]), "n": n, "cents": Decimal(c) if c else None,
     "tenths_of_cents": Decimal(t) if t else None, "x": x, "y": y, "name": name, "tier": tier, "flag": flag,
     "other_flag": other, "on_day": dt.date.fromisoformat(day) if day else None, "ts2": _at(ts2) if ts2 else None}
    for i, (n, c, t, x, y, name, tier, flag, other, day, ts2) in VALUES.items()
]
ROWS.append({"id": 12, "ts": None, "n": None, "cents": None, "tenths_of_cents": None, "x": None, "y": None,
             "name": None, "tier": None, "flag": None, "other_flag": None, "on_day": None, "ts2": None})

#: Rule → the members at AS_OF, computed by hand.
CASES = {
    # The hour windows (the docs' table) and their day-window neighbour.
    "ts within 48 hours": [3, 4, 5, 6, 7, 8, 9],
    "ts within 2 days": list(range(1, 12)),
    "ts before 6 hours ago": [1, 2, 3, 4, 5],
    "ts after 2 hours ago": [8, 9, 10, 11],
    "ts after 1 hour ago": [9, 10, 11],
    "ts within 0 hours": [9],
    "not (ts within 48 hours)": [1, 2, 10, 11],
    "ts within 2_400_000 hours": list(range(1, 10)),
    "ts before 2_400_000 hours ago": [],
    "ts after 2_400_000 hours ago": list(range(1, 12)),
    # Exact numbers across scales: int vs decimal(12, 2) vs decimal(15, 4).
    "cents = tenths_of_cents": [1, 6, 7, 9],
    "cents < tenths_of_cents": [2, 4, 10],
    "cents >= tenths_of_cents": [1, 3, 5, 6, 7, 9],
    "tenths_of_cents != cents": [2, 3, 4, 5, 10],
    "n = cents": [3, 5, 11],
    "n > cents": [4, 10],
    "n <= tenths_of_cents": [1, 2, 4, 7, 8, 9],
    "n != tenths_of_cents": [1, 2, 3, 5, 7, 9, 10],
    "x > y": [4, 9, 10],
    "x = y": [1, 3, 5, 7, 8, 11],
    # Dates, instants, and their UTC days.
    "ts2 < ts": [2, 7, 10],
    "ts2 >= ts": [1, 3, 5, 6, 8, 9, 11],
    "days_since(ts) < days_since(on_day)": [10],
    "since_ts = days_since(on_day)": [1, 3, 6, 7, 8, 9],
    "days_since(ts2) > since_ts": [],
    # Text and enums byte for byte: case, a trailing space and accents all count.
    "name = tier": [1, 3, 9, 10, 11],
    "name != tier": [2, 4, 5, 7, 8],
    "flag = other_flag": [1, 3, 6, 7, 10],
    "flag != other_flag": [2, 8, 11],
    # NULL on either side is unknown, and stays unknown under `not`.
    "not (n > cents)": [1, 2, 3, 5, 7, 9, 11],
}


@pytest.fixture(scope="module")
def engines(pg, pg_collated, maria):
    from segdsl.data.engines import connect

    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    out = {"postgres": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck, "sqlite": lite, "mysql": maria}
    for engine in out.values():
        load_records(engine, SCHEMA, ROWS)
    yield out
    duck.close()
    lite.close()


def _rule(text: str):
    rule, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert rule is not None, diags
    return rule


@pytest.mark.parametrize("text", sorted(CASES))
def test_hand_computed_members_everywhere(engines, text):
    expected = sorted(CASES[text])
    rule = _rule(text)
    is_member = compile_row(rule, AS_OF)
    assert sorted(r["id"] for r in ROWS if is_member(r)) == expected, "row evaluator"
    assert member_keys(rule, Table.from_records(SCHEMA, ROWS), AS_OF) == expected, "columnar evaluator"
    for name, engine in engines.items():
        compiled = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=AS_OF,
                                params=engine.binds_named_params)
        assert compiled.ok, compiled.diagnostics
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, name


def test_the_docs_boundary_table_is_the_one_tested():
    """docs/language.md's table of boundary instants says what CASES says."""
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    # The relative-time section only (other sections tabulate instants too).
    text = text.split("\n### Relative time:", 1)[1].split("\n### ", 1)[0]
    columns = ["ts within 48 hours", "ts within 2 days", "ts before 6 hours ago", "ts after 2 hours ago"]
    rows = re.findall(r"^\| (\d{4}-\d\d-\d\dT[\d:.]+Z)[^|]* \| (.+) \|$", text, re.M)
    assert len(rows) == len(INSTANTS)
    by_instant = {v: k for k, v in INSTANTS.items()}
    for instant, cells in rows:
        row_id = by_instant[instant]
        said = [c.strip().strip("*") == "true" for c in cells.split("|")]
        assert said == [row_id in CASES[c] for c in columns], instant


# The SQL of each construct, pinned per verified target, with the as-of pinned and from
# the database clock.
SQL_RULES = [
    "ts within 48 hours",
    "ts before 6 hours ago",
    "ts after 1 hour ago",
    "n < tenths_of_cents",
    "cents = tenths_of_cents",
    "tenths_of_cents != n",
    "x >= y",
    "ts2 > ts",
    "days_since(ts) < days_since(on_day)",
    "name = tier",
    "flag != other_flag",
]
GOLDEN_TARGETS = [("postgres", AS_OF), ("postgres", None), ("duckdb", AS_OF), ("duckdb", None),
                  ("sqlite", AS_OF), ("sqlite", None), ("mysql", AS_OF), ("mysql", None)]


@pytest.mark.parametrize("target,as_of", GOLDEN_TARGETS,
                         ids=[f"{t}.{'pinned' if a else 'clock'}" for t, a in GOLDEN_TARGETS])
def test_golden_sql(target, as_of, golden):
    out = []
    for text in SQL_RULES:
        compiled = compile_rule(_rule(text), SCHEMA, target=target, as_of=as_of, pretty=True)
        assert compiled.ok, compiled.diagnostics
        out.append(f"-- {text}\n{compiled.sql};\n")
    golden(f"sql/constructs-hours-and-fields.{target}.{'pinned' if as_of else 'clock'}.sql", "\n".join(out))


def test_the_clock_sql_runs(engines):
    """Without a pinned as-of, each engine's clock bounds the hour windows. Every
    instant is within the last 48 hours, before 1 hour ago or after it, whatever the
    clock says, so the SQL must run and find every row with a timestamp."""
    rule = _rule("ts within 48 hours or ts before 1 hour ago or ts after 1 hour ago")
    expected = sorted(r["id"] for r in ROWS if r["ts"] is not None)
    for name, engine in engines.items():
        compiled = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=None)
        assert compiled.ok, compiled.diagnostics
        assert fetch_keys(engine, compiled.sql, compiled.params) == expected, name


@pytest.mark.parametrize("text", [
    "ts within 48 hours", "ts before 1 hour ago", "ts after 2 hours ago", "n > cents", "name = tier",
    "days_since(ts) < days_since(on_day)", "sum(events.amount where at within 48 hours) >= n",
    "ltv >= sum(bookings.amount_inr where status = \"completed\")",
])
def test_the_printer_round_trips(text):
    parsed = parse_expression(text)
    assert parsed.expr is not None, parsed.diagnostics
    assert print_expr(parsed.expr) == text
    assert parse_expression(print_expr(parsed.expr)).expr == parsed.expr


@pytest.mark.parametrize("text,code,message,help_", [
    ("x > n", "E0119", "`x` is a float and `n` is an integer; they cannot be compared", "through a double"),
    ("on_day < ts", "E0119", "`on_day` is a date and `ts` is a timestamp; they cannot be compared", "days_since(a)"),
    ("days_since(ts) > n", "E0119", "`days_since(ts)` is a number of days and `n` is an integer", "days_since"),
    ("name > tier", "E0105", "`>` cannot order text values the same way on every database", "collation"),
    ("flag < other_flag", "E0105", "`<` cannot order booleans", "`=` or `!=`"),
    ("on_day within 48 hours", "E0102", "`within ... hours` needs a timestamp; `on_day` is a date", "`on_day within 2 days`"),
    ("on_day before 5 hours ago", "E0102", "needs a timestamp", "`on_day before 1 day ago`"),
    ("ts within 2_400_001 hours", "E0118", "a span of 2,400,001 hours is too long", "2,400,000 hours"),
    ("n = nope", "E0101", "unknown field `nope`", None),
])
def test_refusals_name_both_sides_and_a_fix(text, code, message, help_):
    rule, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert rule is None
    assert [d.code for d in diags] == [code]
    assert message in diags[0].message
    if help_ is not None:
        assert help_ in (diags[0].help or "")


def test_a_journey_counts_whole_days():
    from segdsl.project.workspace import load_workspace

    text = ('journey j {\n    audience in segment lapsed and email_opt_in and not in holdout global_control\n'
            '    send email "x"\n    wait 5 hours\n'
            '    goal converted within 30 days\n}\n')
    ws = _hospitality_workspace(load_workspace, text)
    errors = [d for d in ws.diagnostics if d.is_error]
    assert [(d.code, d.message, d.help) for d in errors] == [
        ("E0102", "a journey's `wait` counts whole days, not hours", "write `1 day`")]


def _hospitality_workspace(load_workspace, text: str):
    import tempfile

    hotel = ROOT / "examples" / "hospitality"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "j.seg"
        path.write_text(text, encoding="utf-8")
        return load_workspace([path, hotel / "segments.seg"], hotel / "schema.toml")


# ------------------------------------------------------------------ the docs' examples

DOC_SECTIONS = ("### Comparing two fields", "### Relative time")


def _doc_rules() -> list[str]:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    rules = []
    for heading in DOC_SECTIONS:
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        for block in re.findall(r"^```\n(.*?)^```", section, re.M | re.S):
            rules += [line.strip() for line in block.splitlines() if line.strip()]
    return rules


@pytest.mark.parametrize("rule_text", _doc_rules())
def test_the_docs_examples_check_compile_and_run(rule_text, golden):
    """Each example rule of the two sections checks against the hospitality schema,
    compiles for every verified target and sizes on the embedded CRM."""
    import segdsl

    ws = segdsl.load_project(ROOT / "examples" / "hospitality")
    checked = segdsl.check_expression(rule_text, ws)
    assert checked.ok, checked.diagnostics
    for target in ("postgres", "duckdb", "sqlite", "mysql"):
        assert segdsl.compile_sql(ws, checked, target=target, as_of=AS_OF).ok, target
    sizes = segdsl.sizes(ws, [checked], as_of=AS_OF)
    assert sizes.ok, sizes.diagnostics


def test_the_docs_examples_are_found():
    rules = _doc_rules()
    assert "last_booking_at within 48 hours" in rules and "total_bookings > bookings_365d" in rules


def test_a_source_file_with_both_constructs_parses_and_prints_back():
    text = "segment s {\n    where last_booking_at within 48 hours and total_bookings > bookings_365d\n}\n"
    parsed = parse_source("s.seg", text)
    assert parsed.module is not None and not parsed.diagnostics


def test_explain_shows_the_instant_and_the_other_field():
    from segdsl.backends.memory.trace import Tracer

    text = "ts within 48 hours and cents < tenths_of_cents"
    rule = _rule(text)
    tracer = Tracer(rule, AS_OF, lambda span, node: text[span.start:span.end] if span else "")
    trace = tracer.trace(next(r for r in ROWS if r["id"] == 2))
    # `within` is two bounds, in the one flat `and`.
    low, high, numbers = trace.children
    assert trace.verdict == "false" and numbers.verdict == "true" and numbers.kind == "compare fields"
    assert numbers.details["other_field"] == "tenths_of_cents" and numbers.details["other_value"] == Decimal("0.1301")
    assert low.text == high.text == "ts within 48 hours"
    assert (low.kind, low.verdict, low.details["op"], low.details["instant"]) == (
        "time", "false", ">=", _at("2026-10-30T12:00:00Z"))
    assert high.details["instant"] == AS_OF and high.verdict == "true"
