"""Bad input never produces a traceback: every stage answers with diagnostics.

Arbitrary bytes, token soup built from the language's own vocabulary, and the extreme
sizes and depths named in the project's issues all go through parse → check →
compile and come back as results or diagnostics, never as an exception.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl.check.checker import check_expression, check_modules
from segdsl.syntax.parser import MAX_DEPTH, parse_bytes, parse_expression, parse_source
from segdsl.check.traits import load_schema
from segdsl.syntax.source import MAX_SOURCE_BYTES
from segdsl.backends.sql import compile_rule

ROOT = Path(__file__).resolve().parent.parent
SCHEMA, _ = load_schema(ROOT / "examples" / "hospitality" / "schema.toml")
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)

VOCABULARY = [
    "segment", "static", "smart", "dynamic", "{", "}", "(", ")", "[", "]", ",", "where", "members",
    "refresh", "daily", "description", "and", "or", "not", "in", "is", "null", "between", "contains",
    "starts", "ends", "with", "ignoring", "case", "has", "any", "all", "within", "before", "after", "ago",
    "days", "weeks", "days_since", "true", "false", "=", "!=", "<", "<=", ">", ">=", "ltv", "email",
    "home_city", "loyalty_tier", "interests", "last_booking_at", "signup_date", "email_opt_in",
    "days_since_booking", "total_bookings", "x", "0", "-1", "150_000", "1.5", "0.125", "2024-02-29",
    "2024-02-30", "2024-03-31T01:30:00Z", '"Gold"', '"a%_\\\\"', '"', "'", "#", "\n", "“", "１", "\u202e",
    "\x00", "é", "--", "9" * 30, "lapsed", "high_value",
]


def _spans_ok(result_source, diagnostics):
    for d in diagnostics:
        assert d.code and d.message
        if d.span is not None and result_source is not None:
            assert 0 <= d.span.start <= d.span.end <= len(result_source.text) + 1


@given(st.binary(max_size=300))
def test_arbitrary_bytes(data):
    result = parse_bytes("fuzz.seg", data)
    assert result.module is not None or result.diagnostics
    _spans_ok(result.source, result.diagnostics)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=40))
@settings(max_examples=600)
def test_token_soup_through_every_stage(tokens):
    text = " ".join(tokens)
    for wrapped in (text, f"segment s {{ where {text} }}", text.replace(" ", "")):
        result = parse_source("soup.seg", wrapped)
        _spans_ok(result.source, result.diagnostics)
        if result.module is not None:
            checked = check_modules([result.module], SCHEMA)
            for seg in checked.segments.values():
                for target in ("postgres", "sqlite", "bigquery", "snowflake", "trino"):
                    compile_rule(seg.rule, SCHEMA, target=target, as_of=AS_OF)
        expr = parse_expression(wrapped)
        if expr.expr is not None:
            node, _ = check_expression(expr.expr, SCHEMA)
            if node is not None:
                for target in ("postgres", "duckdb", "sqlite", "mysql"):
                    compile_rule(node, SCHEMA, target=target, as_of=None)


def test_ten_megabytes_is_refused_with_a_diagnostic():
    data = b"segment s { where ltv > 1 }\n" * (10 * 1024 * 1024 // 28 + 1)
    assert len(data) > MAX_SOURCE_BYTES
    result = parse_bytes("big.seg", data)
    assert [d.code for d in result.diagnostics] == ["E0003"]
    assert "limit" in result.diagnostics[0].message


def test_ten_thousand_nested_parentheses_parse():
    result = parse_expression("(" * 10_000 + "ltv > 1" + ")" * 10_000)
    assert result.diagnostics == ()
    node, diags = check_expression(result.expr, SCHEMA)
    assert node is not None and diags == ()


def test_ten_thousand_nots_are_rejected_with_a_diagnostic():
    result = parse_expression("not " * 10_000 + "email_opt_in")
    assert [d.code for d in result.diagnostics] == ["E0013"]
    assert str(MAX_DEPTH) in result.diagnostics[0].message


def test_ten_thousand_nested_groups_are_rejected_with_a_diagnostic():
    result = parse_expression("(email_opt_in or " * 10_000 + "email_opt_in" + ")" * 10_000)
    assert [d.code for d in result.diagnostics] == ["E0013"]


def test_hundred_thousand_chained_ands_compile_flat():
    text = " and ".join(f"ltv > {i}" for i in range(100_000))
    result = parse_expression(text)
    assert result.diagnostics == ()
    assert len(result.expr.items) == 100_000
    node, diags = check_expression(result.expr, SCHEMA)
    assert diags == ()
    for target in ("postgres", "sqlite"):
        compiled = compile_rule(node, SCHEMA, target=target, as_of=AS_OF, pretty=False)
        assert compiled.ok
        assert compiled.sql.count("AND") == 99_999


def test_unterminated_string_at_end_of_file():
    result = parse_source("t.seg", 'segment s { where home_city = "abc')
    assert [d.code for d in result.diagnostics] == ["E0012"]
