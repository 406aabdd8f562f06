"""The profile CTE cache: compiled SQL is the same text with and without it.

``compile_rule`` generates each (schema, target, as-of, parameters, traits) profile CTE
once, and each (form, traits) statement around a placeholder condition, and splices
texts into every later statement that needs them (on the engines the suite runs). These
tests compare that output with the whole-statement compilation for every example
segment of both domains, on every verified target plus two others, in every form, pinned and on the database
clock, with and without parameters; and they check that no rule text can reach the
splice.
"""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

from segdsl import ir
from segdsl.project import load_workspace
from segdsl.sql import builder as sqlb
from segdsl.sql import compile as sqlc

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
TARGETS = ("postgres", "duckdb", "sqlite", "mysql", "snowflake", "tsql")


def _workspace(domain: str):
    ws = load_workspace(sorted((ROOT / "examples" / domain).glob("*.seg")))
    assert ws.ok, ws.diagnostics
    return ws


def _uncached(monkeypatch, *args, **kw):
    with monkeypatch.context() as m:
        m.setattr(sqlc._PROFILES, "get", lambda *a: None)
        return sqlc.compile_rule(*args, **kw)


@pytest.mark.parametrize("domain", ["hospitality", "golf"])
@pytest.mark.parametrize("target", TARGETS)
def test_cached_sql_is_the_uncached_sql(monkeypatch, domain, target):
    ws = _workspace(domain)
    traited = 0
    for seg in ws.segments.values():
        traited += bool(ir.derived_fields(seg.rule))
        for form in ("select", "count", "view"):
            for as_of in (AS_OF, None):
                for params in (False, True):
                    kw = dict(target=target, form=form, as_of=as_of, params=params, pretty=False)
                    first = sqlc.compile_rule(seg.rule, ws.schema, **kw)
                    again = sqlc.compile_rule(seg.rule, ws.schema, **kw)  # from the cache
                    plain = _uncached(monkeypatch, seg.rule, ws.schema, **kw)
                    assert first == again == plain, (seg.name, form, as_of, params)
    assert traited, "the examples should read traits, or this test proves nothing"


def test_a_literal_spelling_the_placeholder_changes_nothing(monkeypatch):
    ws = _workspace("hospitality")
    seg = next(s for s in ws.segments.values() if ir.derived_fields(s.rule))
    cache = sqlc._PROFILES.get(ws.schema, sqlc.get_target("postgres"), AS_OF, False)
    email = ws.schema.fields["email"]
    # A rule whose own text is the placeholder's SQL, in a string literal.
    rule = ir.And((seg.rule, ir.Cmp(email, "=", cache.marker_sql)))
    cached = sqlc.compile_rule(rule, ws.schema, target="postgres", as_of=AS_OF, pretty=False)
    plain = _uncached(monkeypatch, rule, ws.schema, target="postgres", as_of=AS_OF, pretty=False)
    assert cached == plain
    assert cached.sql.count(cache.marker_sql) == 1  # the literal keeps its text
    # The same for the WHERE clause's placeholder.
    rule = ir.And((seg.rule, ir.Cmp(email, "=", cache.where_sql)))
    cached = sqlc.compile_rule(rule, ws.schema, target="postgres", as_of=AS_OF, pretty=False)
    plain = _uncached(monkeypatch, rule, ws.schema, target="postgres", as_of=AS_OF, pretty=False)
    assert cached == plain
    assert cached.sql.count(cache.where_sql.strip()) == 1


def test_unverified_dialects_generate_whole_statements():
    ws = _workspace("hospitality")
    for seg in ws.segments.values():
        sqlc.compile_rule(seg.rule, ws.schema, target="tsql", as_of=AS_OF, pretty=False)
    per_schema = sqlc._PROFILES.by_schema.get(id(ws.schema), (None, {}))[1]
    assert not [k for k in per_schema if isinstance(k, tuple) and k[0] == "tsql"]  # keyed by dialect name


def test_a_schema_that_goes_takes_its_cache_along():
    ws = _workspace("golf")
    seg = next(s for s in ws.segments.values() if ir.derived_fields(s.rule))
    sqlc.compile_rule(seg.rule, ws.schema, target="postgres", as_of=AS_OF, pretty=False)
    key = id(ws.schema)
    assert key in sqlc._PROFILES.by_schema
    del ws, seg
    gc.collect()
    assert key not in sqlc._PROFILES.by_schema


def test_a_reused_generator_writes_what_a_new_one_writes():
    """The per-thread sqlglot generator carries nothing from one statement to the next:
    not the counter that names invented aliases, and not a generator that raised."""
    from sqlglot import parse_one

    tgt = sqlc.get_target("postgres")
    statement = parse_one("SELECT * FROM t AS (x)", read="postgres")
    first = sqlb.generate_sql(tgt, statement.copy(), False, None)
    assert sqlb.generate_sql(tgt, statement.copy(), False, None) == first
    kept = sqlb.sql_generator(tgt.dialect, False)
    mysql = sqlc.get_target("mysql")
    failing = sqlb.sql_generator(mysql.dialect, False)
    with pytest.raises(sqlb.Unsupported):  # MySQL has no arrays
        sqlb.generate_sql(mysql, parse_one("SELECT ARRAY[1] @> ARRAY[1]", read="postgres"), False, None)
    assert sqlb.sql_generator(mysql.dialect, False) is not failing  # a new one replaces the one that raised
    assert sqlb.sql_generator(tgt.dialect, False) is kept  # another dialect's failure drops only its own
