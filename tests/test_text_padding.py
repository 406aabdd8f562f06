"""Trailing spaces are part of a text value on every engine.

MariaDB's and MySQL's `utf8mb4_bin` collation is PAD SPACE: it finds `'a' = 'a '`
and `'' = ' '` (found by tests/test_cross_engine.py). Equality, `in` lists and the
`starts with` / `ends with` comparisons must still see the spaces, in memory and on
every database, with and without `ignoring case`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.check.checker import check_expression
from segdsl.data.tables import Table
from segdsl.data.engines import connect, fetch_keys
from segdsl.data.loading import load_project
from segdsl.backends.memory import compile_row, member_keys
from segdsl.syntax.parser import parse_expression
from segdsl.check.traits import schema_from_dict
from segdsl.backends.sql import compile_rule

SCHEMA, DIAGS = schema_from_dict(
    {
        "entity": "guest",
        "table": "padding_guests",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "t": {"type": "text"},
            "e": {"type": "enum", "values": ["a", "a ", " "]},
        },
    }
)
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
VALUES = ["", " ", "  ", "a", "a ", "a  ", " a", "A ", "é", "é ", None]
ROWS = [{"id": i, "t": v, "e": ["a", "a ", " ", None][i % 4]} for i, v in enumerate(VALUES)]
RULES = [
    't = ""', 't = " "', 't = "a"', 't = "a "', 't != "a"', 't != ""', 't in ["a", ""]', 't not in ["a "]',
    't starts with "a "', 't starts with "a"', 't ends with " "', 't ends with "a"', 't ends with "é"',
    't starts with "a " ignoring case', 't ends with "A" ignoring case', 't contains " "',
    'e = "a"', 'e = "a "', 'e in [" "]', 'e != "a"',
]


@pytest.fixture(scope="module")
def engines(pg_dsn, mysql_dsn):
    opened = {name: connect(dsn) for name, dsn in
              (("postgres", pg_dsn), ("mysql", mysql_dsn), ("duckdb", "duckdb::memory:"), ("sqlite", "sqlite::memory:"))}
    for engine in opened.values():
        load_project(engine, SCHEMA, {SCHEMA.table: ROWS})
    yield opened
    for engine in opened.values():
        engine.close()


@pytest.mark.parametrize("text", RULES)
def test_trailing_spaces_count_everywhere(engines, text):
    assert not DIAGS
    rule, diags = check_expression(parse_expression(text).expr, SCHEMA)
    assert rule is not None, diags
    table = Table.from_records(SCHEMA, ROWS)
    is_member = compile_row(rule, AS_OF)
    expected = [r["id"] for r in ROWS if is_member(r)]
    assert member_keys(rule, table, AS_OF) == expected
    for name, engine in engines.items():
        for pretty in (True, False):
            compiled = compile_rule(rule, SCHEMA, target=name, as_of=AS_OF, pretty=pretty)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql, compiled.params) == expected, (name, compiled.sql)
