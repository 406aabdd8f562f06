"""Untrusted rule text never changes the structure of the SQL it compiles to, nor the
text it means.

Adversarial strings (quotes, backslashes, control characters, line and paragraph
separators, astral characters) are compiled as inlined literals (the hardest case: no
parameter binding to hide behind) and as bound parameters, executed on every engine in
each of its escaping modes (Postgres with standard_conforming_strings on and off,
MariaDB with and without NO_BACKSLASH_ESCAPES, DuckDB, SQLite), and must match exactly
the rows holding that same text — no more rows, no error. The generated SQL must also
parse back to the same shape: one comparison.
"""

from __future__ import annotations

import attrs
import pytest
import sqlglot
from hypothesis import given, settings
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
PROPERTY = attrs.evolve(SCHEMA, table="injection_property")

#: Every C0 control character but NUL (which no engine stores in text), and DEL.
CONTROLS = "".join(chr(c) for c in range(1, 32)) + "\x7f"

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
    # Control characters, each beside the two characters of its backslash escape: with
    # NO_BACKSLASH_ESCAPES, MySQL read sqlglot's 'a\tb' as those two characters.
    "a\tb",
    "a\\tb",
    "\n",
    "\\n",
    "\r",
    "x\r\ny",
    "\x08\x1a",
    "\\Z",
    "\x1b[31m red",
    CONTROLS,
    "' \n OR 1=1 --",
    "\u2028",
    "a\u2029b",
    "\x85",
    "\U0001f600",
    "\U00010348\t\\'",
]


def _rows(strings):
    return [{"id": i, "name": s} for i, s in enumerate(strings)]


#: Per engine: the statements that put a session in each of its escaping modes (the
#: default mode is last, to leave the session in it), and whether rules bind parameters.
MODES = {
    "postgres": ["SET standard_conforming_strings = off", "SET standard_conforming_strings = on"],
    "mysql": ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", "SET SESSION sql_mode = DEFAULT"],
    "duckdb": [None],
    "sqlite": [None],
}


@pytest.fixture(scope="module")
def probes(pg_dsn, mysql_dsn):
    engines = {"postgres": connect(pg_dsn), "mysql": connect(mysql_dsn), "duckdb": connect("duckdb::memory:"),
               "sqlite": connect("sqlite::memory:")}
    for engine in engines.values():
        load_records(engine, SCHEMA, _rows(ADVERSARIAL))
        load_records(engine, PROPERTY, ())
    yield engines
    for engine in engines.values():
        engine.close()


def _rules(value: str, strings: list[str]):
    """Rules on ``value`` and the rows of ``strings`` each must match."""
    where = lambda test: [i for i, s in enumerate(strings) if test(s)]  # noqa: E731
    return [
        (ir.Cmp(NAME, "=", value), where(lambda s: s == value)),
        (ir.Cmp(NAME, "!=", value), where(lambda s: s != value)),
        (ir.InSet(NAME, tuple(dict.fromkeys((value, "%")))), where(lambda s: s in (value, "%"))),
        (ir.TextMatch(NAME, "contains", value, False), where(lambda s: value in s)),
        (ir.TextMatch(NAME, "starts", value, False), where(lambda s: s.startswith(value))),
        (ir.TextMatch(NAME, "ends", value, False), where(lambda s: s.endswith(value))),
    ]


@pytest.mark.parametrize("engine", list(MODES))
def test_literals_mean_their_text_in_every_escaping_mode(probes, engine):
    db = probes[engine]
    wrong = []
    for mode in MODES[engine]:
        if mode:
            db.execute(mode)
        for params in {False, db.binds_named_params}:
            for index, value in enumerate(ADVERSARIAL):
                for rule, expected in _rules(value, ADVERSARIAL):
                    compiled = compile_rule(rule, SCHEMA, target=engine, as_of=None, params=params,
                                            pretty=index % 2 == 0)
                    try:
                        found = fetch_keys(db, compiled.sql, compiled.params)
                    except Exception as exc:  # noqa: BLE001 - an error is a wrong answer too
                        found = exc
                    if found != expected:
                        wrong.append(f"{mode or engine}, params={params}: {value!r}: {compiled.sql}\n"
                                     f"    expected rows {expected}, got {found}")
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong[:20])


@pytest.mark.parametrize("value", ADVERSARIAL)
@pytest.mark.parametrize("target", ["postgres", "duckdb", "sqlite", "mysql", "bigquery", "snowflake", "tsql"])
def test_sql_shape_is_unchanged(value, target):
    _assert_one_comparison(value, target)


@given(st.text(max_size=30))
def test_any_text_stays_one_literal(value):
    for target in ("postgres", "sqlite", "duckdb", "mysql"):
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
    elif isinstance(literal, exp.Introducer):  # MySQL: _utf8mb4 x'...' for text with a backslash or control
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


#: Any text an engine stores: every code point but NUL and lone surrogates.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60)
@given(st.lists(ANY_TEXT, min_size=1, max_size=4))
def test_any_text_means_itself_everywhere(probes, strings):
    """A property run on the live servers: random text, stored, then matched inlined
    and bound in every escaping mode of every engine."""
    rows = strings + [s + "x" for s in strings]
    for engine, db in probes.items():
        load_records(db, PROPERTY, _rows(rows), create=False)
        for mode in MODES[engine]:
            if mode:
                db.execute(mode)
            for params in {False, db.binds_named_params}:
                for value in strings:
                    for rule, expected in _rules(value, rows)[::3]:  # = and contains
                        compiled = compile_rule(rule, PROPERTY, target=engine, as_of=None, params=params, pretty=False)
                        assert fetch_keys(db, compiled.sql, compiled.params) == expected, (engine, mode, compiled.sql)
