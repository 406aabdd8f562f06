"""Untrusted rule text never changes the structure of the SQL it compiles to.

Adversarial strings are compiled as inlined literals (the hardest case: no parameter
binding to hide behind), executed on a real Postgres with standard_conforming_strings
on and off, and must match exactly the row holding that same string — no more rows,
no error. The generated SQL must also parse back to the same shape: one comparison.
"""

from __future__ import annotations

import attrs
import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from segdsl import ir
from segdsl.data.engines import connect, fetch_keys, load_records
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule

SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "injection_probe",
        "key": "id",
        "fields": {"id": {"type": "int", "nullable": False}, "name": {"type": "text"}},
    }
)
NAME = SCHEMA.fields["name"]

ADVERSARIAL = [
    "\\' OR 1=1 --",
    "' OR '1'='1",
    "'; DROP TABLE injection_probe; --",
    "\\",
    "\\\\'",
    "x\\",
    "50%_off",
    "%",
    "_",
    "a'b\"c",
    "$$; SELECT 1; $$",
    "$tag$ x $tag$",
    "é'\\n\n",
    "\u2019 OR 1=1",
    "*/ OR 1=1 /*",
    "-- comment",
    "E'\\''",
    "\x0b\\",  # sqlglot writes a vertical tab in E'...' as \v, which Postgres reads as "v"
    "tab\there\\",
]


def _rows(strings):
    return [{"id": i, "name": s} for i, s in enumerate(strings)]


@pytest.fixture(scope="module")
def probe(pg_dsn):
    engine = connect(pg_dsn)
    load_records(engine, SCHEMA, _rows(ADVERSARIAL))
    yield engine
    engine.close()


@pytest.mark.parametrize("scs", ["on", "off"])
@pytest.mark.parametrize("index,value", list(enumerate(ADVERSARIAL)))
def test_literal_round_trips_on_postgres(probe, scs, index, value):
    for rule, expected in (
        (ir.Cmp(NAME, "=", value), [index]),
        (ir.TextMatch(NAME, "contains", value, False), [i for i, s in enumerate(ADVERSARIAL) if value in s]),
    ):
        compiled = compile_rule(rule, SCHEMA, target="postgres", as_of=None)
        probe.execute(f"SET standard_conforming_strings = {scs}")
        try:
            assert fetch_keys(probe, compiled.sql) == expected, compiled.sql
        finally:
            probe.execute("SET standard_conforming_strings = on")


@pytest.mark.parametrize("value", ADVERSARIAL)
@pytest.mark.parametrize("target", ["postgres", "duckdb", "sqlite", "mysql", "bigquery", "snowflake", "tsql"])
def test_sql_shape_is_unchanged(value, target):
    _assert_one_comparison(value, target)


@given(st.text(max_size=30))
def test_any_text_stays_one_literal(value):
    for target in ("postgres", "sqlite", "duckdb"):
        _assert_one_comparison(value, target)


def _assert_one_comparison(value: str, target: str) -> None:
    compiled = compile_rule(ir.Cmp(NAME, "=", value), SCHEMA, target=target, as_of=None, pretty=False)
    (statement,) = compiled.statements
    tree = sqlglot.parse_one(statement, read=target)
    where = tree.args["where"].this
    assert isinstance(where, exp.EQ), statement
    literal = where.expression
    if target == "mysql":  # text compares byte for byte there: CAST(... AS BINARY) on both sides
        assert isinstance(literal, exp.Cast) and literal.to.this == exp.DataType.Type.BINARY, statement
        literal = literal.this
    if isinstance(literal, exp.Paren):  # Postgres: 'a' || CHR(92) || 'b', no backslash in a literal
        assert _concatenated_text(literal.this) == value, statement
        assert not any("\\" in lit.this for lit in literal.find_all(exp.Literal) if lit.is_string), statement
    elif isinstance(literal, exp.Introducer):  # MySQL: _utf8mb4 x'...' for text with a backslash
        assert str(literal.this).lower() == "_utf8mb4" and isinstance(literal.expression, exp.HexString), statement
        assert bytes.fromhex(literal.expression.this).decode("utf-8") == value, statement
    else:
        assert isinstance(literal, (exp.Literal, exp.ByteString, exp.National)), statement
        assert literal.this == value or literal.name == value, statement
    assert len(list(tree.find_all(exp.Select))) == 1


def _concatenated_text(node) -> str:
    """The text a `'a' || CHR(92) || 'b'` chain of constants spells."""
    if isinstance(node, exp.DPipe):
        return _concatenated_text(node.this) + _concatenated_text(node.expression)
    if isinstance(node, exp.Chr):
        assert node.expressions[0].name == "92"
        return "\\"
    assert isinstance(node, exp.Literal) and node.is_string, node
    return node.this


def test_any_text_round_trips_on_postgres_with_scs_off(probe):
    """A property run on the live server: random text, inlined, with the legacy setting."""

    schema = attrs.evolve(SCHEMA, table="injection_property")

    @given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
    def run(value):
        load_records(probe, schema, _rows([value, value + "x"]))
        compiled = compile_rule(ir.Cmp(NAME, "=", value), schema, target="postgres", as_of=None)
        probe.execute("SET standard_conforming_strings = off")
        try:
            assert fetch_keys(probe, compiled.sql) == [0]
        finally:
            probe.execute("SET standard_conforming_strings = on")

    run()


@pytest.fixture(scope="module")
def maria_probe(mysql_dsn):
    engine = connect(mysql_dsn)
    load_records(engine, SCHEMA, _rows(ADVERSARIAL))
    yield engine
    engine.close()


@pytest.mark.parametrize("mode", ["", "NO_BACKSLASH_ESCAPES"])
@pytest.mark.parametrize("index,value", list(enumerate(ADVERSARIAL)))
def test_literal_round_trips_on_mariadb(maria_probe, mode, index, value):
    """MySQL's own quoting trap: with NO_BACKSLASH_ESCAPES a backslash is a plain
    character, without it an escape. Inlined text must mean the same either way."""
    maria_probe.execute(f"SET SESSION sql_mode = '{mode}'")
    try:
        for rule, expected in (
            (ir.Cmp(NAME, "=", value), [index]),
            (ir.TextMatch(NAME, "contains", value, False), [i for i, s in enumerate(ADVERSARIAL) if value in s]),
        ):
            compiled = compile_rule(rule, SCHEMA, target="mysql", as_of=None)
            assert fetch_keys(maria_probe, compiled.sql) == expected, compiled.sql
    finally:
        maria_probe.execute("SET SESSION sql_mode = DEFAULT")
