"""BigQuery, Snowflake and Trino: no engine for them runs here, so their SQL is held to
what can be checked without one. Every construct of the language either compiles for
each of them or is refused with a diagnostic; what compiles parses back in the dialect
(sqlglot's reader), and the shapes each engine needs are asserted: its own array
functions for tag lists (never Postgres's `&&` / `@>`), exact decimal literals, instant
literals and clocks independent of session settings. Golden files pin the SQL of the
example projects (tests/test_golden.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from segdsl.backends.sql import compile_rule
from segdsl.backends.sql.targets import get_target
from segdsl.project.workspace import load_workspace
from segdsl.check.traits import schema_from_dict

ROOT = Path(__file__).resolve().parent.parent
CONSTRUCTS = ROOT / "tests" / "cases" / "warehouses" / "constructs.seg"
HOSPITALITY_SCHEMA = ROOT / "examples" / "hospitality" / "schema.toml"
WAREHOUSES = ("bigquery", "snowflake", "trino")
AS_OF = dt.datetime(2026, 11, 1, 12, 30, 0, 250_000, tzinfo=dt.timezone.utc)
#: What each warehouse refuses of the constructs file, and why.
REFUSED = {
    "bigquery": {"treated": "E0409"},
    "snowflake": {"treated": "E0409"},
    "trino": {"treated": "E0409", "sequence": "E0404"},
}


@pytest.fixture(scope="module")
def constructs():
    ws = load_workspace([str(CONSTRUCTS)], str(HOSPITALITY_SCHEMA))
    assert ws.ok, ws.diagnostics
    return ws


def _examples():
    out = []
    for project in ("hospitality", "golf"):
        files = sorted(str(p) for p in (ROOT / "examples" / project).glob("*.seg"))
        ws = load_workspace(files, str(ROOT / "examples" / project / "schema.toml"))
        assert ws.ok, ws.diagnostics
        out += [(ws, s) for s in ws.requested_segments()]
    return out


def _compiled(ws, segment, target, **kw):
    return compile_rule(segment.rule, ws.schema, target=target, view_name=f"segment_{segment.name}", **kw)


def _parse_back(sql: str, dialect: str) -> exp.Expression:
    (tree,) = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    return tree


@pytest.mark.parametrize("target", WAREHOUSES)
def test_every_construct_compiles_or_is_refused_with_its_reason(constructs, target):
    for segment in constructs.segments.values():
        for as_of in (AS_OF, None):
            result = _compiled(constructs, segment, target, as_of=as_of)
            expected = REFUSED[target].get(segment.name)
            if expected is None:
                assert result.ok, (segment.name, as_of, result.diagnostics)
            else:
                assert [d.code for d in result.diagnostics] == [expected], (segment.name, result.diagnostics)
                assert result.diagnostics[0].span is not None  # points at the construct


@pytest.mark.parametrize("target", WAREHOUSES)
def test_what_compiles_parses_back_in_the_dialect(constructs, target):
    cases = [(constructs, s) for s in constructs.segments.values()] + _examples()
    parsed = 0
    for ws, segment in cases:
        forms = [{"as_of": AS_OF}, {"as_of": None}, {"as_of": AS_OF, "form": "count"}, {"as_of": None, "form": "view"}]
        if get_target(target).named_markers:
            forms.append({"as_of": AS_OF, "params": True})
        for kw in forms:
            result = _compiled(ws, segment, target, **kw)
            if not result.ok:
                continue
            for statement in result.statements:
                tree = _parse_back(statement, target)
                assert tree.find(exp.Select) is not None
                parsed += 1
    assert parsed > 150


@pytest.mark.parametrize("target", WAREHOUSES)
def test_tag_lists_use_the_engines_own_functions(constructs, target):
    expected = {
        "bigquery": ("UNNEST(`interests`) AS `value`", "COUNT(DISTINCT `value`)"),
        "snowflake": ('ARRAYS_OVERLAP("interests", ARRAY_CONSTRUCT(', 'ARRAY_CONTAINS(CAST(\'spa\' AS VARIANT), "interests")'),
        "trino": ('ARRAYS_OVERLAP("interests", ARRAY[', 'CARDINALITY(ARRAY_EXCEPT(ARRAY['),
    }[target]
    sql = "\n".join(_compiled(constructs, constructs.segments[name], target, as_of=AS_OF).sql
                    for name in ("tags_has", "tags_any", "tags_all_negated"))
    for shape in expected:
        assert shape in sql, (target, shape, sql)
    for ws, segment in [(constructs, s) for s in constructs.segments.values()] + _examples():
        result = _compiled(ws, segment, target, as_of=AS_OF)
        for statement in result.statements:
            tokens = {t.text for t in sqlglot.tokenize(statement, read=target)}
            assert not tokens & {"&&", "@>", "<@"}, (target, segment.name, statement)


def test_bigquery_refuses_a_nullable_tag_list():
    # BigQuery stores a NULL array as []: `not (tags has "x")` would then be TRUE, not unknown.
    schema = _schema({"tags": {"type": "tags"}, "fixed": {"type": "tags", "nullable": False}})
    rule = _rule(schema, 'not (tags has "x")')
    result = compile_rule(rule, schema, target="bigquery", as_of=AS_OF)
    (diag,) = result.diagnostics
    assert diag.code == "E0403" and "NULL" in diag.message and "nullable = false" in diag.help
    assert compile_rule(_rule(schema, 'not (fixed has "x")'), schema, target="bigquery", as_of=AS_OF).ok
    for target in ("snowflake", "trino"):  # they keep NULL apart from []
        assert compile_rule(rule, schema, target=target, as_of=AS_OF).ok


def test_bigquery_decimal_literals_are_exact():
    schema = _schema({"amount": {"type": "decimal(12, 2)"}, "fine": {"type": "decimal(15, 12)"},
                      "ratio": {"type": "float"}})
    sql = compile_rule(_rule(schema, "amount >= 150000.25 and amount in [1.5, 2] and fine > 0.000000000001"
                                     " and amount between 3 and 4.5"), schema, target="bigquery").sql
    assert "CAST('150000.25' AS NUMERIC)" in sql and "CAST('1.5' AS NUMERIC)" in sql
    assert "CAST('0.000000000001' AS BIGNUMERIC)" in sql  # past NUMERIC's 9 places
    # No number token with a point is left: BigQuery would read it as a FLOAT64.
    numbers = [t.text for t in sqlglot.tokenize(sql, read="bigquery") if t.token_type.name == "NUMBER"]
    assert numbers and not [n for n in numbers if "." in n or "e" in n.lower()], numbers
    # The other warehouses read 150000.25 as an exact decimal.
    for target in ("snowflake", "trino"):
        assert '"amount" >= 150000.25' in compile_rule(_rule(schema, "amount >= 150000.25"), schema,
                                                       target=target).sql


def test_instant_literals_are_read_the_same_whatever_the_session():
    schema = _schema({"at": {"type": "timestamp"}, "on": {"type": "date"}})
    rule = _rule(schema, "at < 2026-01-01T10:00:00.123456Z and on >= 2024-01-01")
    sql = {t: compile_rule(rule, schema, target=t).sql for t in WAREHOUSES}
    assert "CAST('2026-01-01 10:00:00.123456+00:00' AS TIMESTAMP)" in sql["bigquery"]
    # Snowflake's CAST follows TIMESTAMP_INPUT_FORMAT and DATE_INPUT_FORMAT: a format is given.
    assert ("TO_TIMESTAMP_TZ('2026-01-01 10:00:00.123456 +00:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')"
            in sql["snowflake"])
    assert "TO_DATE('2024-01-01', 'YYYY-MM-DD')" in sql["snowflake"] and "CAST(" not in sql["snowflake"]
    # Trino's TIMESTAMP WITH TIME ZONE alone has milliseconds: the microseconds would be rounded.
    assert "CAST('2026-01-01 10:00:00.123456+00:00' AS TIMESTAMP(6) WITH TIME ZONE)" in sql["trino"]
    for target, text in sql.items():
        assert not re.search(r"TIMESTAMPTZ|TIMESTAMPLTZ|TIMESTAMP_LTZ", text), (target, text)
        _parse_back(text, target)


def test_the_database_clock_is_read_in_utc(constructs):
    shapes = {
        "bigquery": ["CURRENT_DATE('UTC')", "TIMESTAMP(DATE_SUB(CURRENT_DATE('UTC'), INTERVAL 365 DAY), 'UTC')",
                     "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 48 HOUR)"],
        "snowflake": ["DATE_TRUNC('DAY', CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()))",
                      "CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE)",
                      "DATEADD(HOUR, -48, CURRENT_TIMESTAMP())"],
        "trino": ["WITH_TIMEZONE(", "CAST(AT_TIMEZONE(CURRENT_TIMESTAMP, 'UTC') AS DATE)",
                  "DATE_ADD('hour', -48, CURRENT_TIMESTAMP)"],
    }
    for target, wanted in shapes.items():
        sql = "\n".join(_compiled(constructs, constructs.segments[name], target, as_of=None, pretty=False).sql
                        for name in ("day_windows", "hour_windows"))
        for shape in wanted:
            assert shape in sql, (target, shape, sql)
        # Never a session's zone: no CURRENT_DATE without a zone, no timestamp without one.
        assert "CURRENT_DATE " not in sql and "CURRENT_DATE)" not in sql


def test_event_windows_never_overflow_the_calendar(constructs):
    sequence = constructs.segments["sequence"]
    bq = _compiled(constructs, sequence, "bigquery", as_of=AS_OF, pretty=False).sql
    assert "TIMESTAMP_ADD(LEAST(`seq_first`.`checked_in_at`, CAST('9999-12-01 23:59:59.999999+00:00' AS " \
           "TIMESTAMP)), INTERVAL 2592000 SECOND)" in bq
    sf = _compiled(constructs, sequence, "snowflake", as_of=None, pretty=False).sql
    assert "DATEADD(SECOND, 2592000, LEAST(" in sf and "DATEADD(SECOND, -2592000, CURRENT_TIMESTAMP())" in sf
    for sql in (bq, sf):
        assert "INTERVAL '" not in sql  # no interval written from text


def test_text_literals_read_back_as_written():
    schema = _schema({"name": {"type": "text"}})
    for text in ["it's", "back\\slash", "tab\tand\nnewline", "50%_off", "Zürich 北京 🎉", "'; DROP TABLE x --",
                 "\\' OR 1=1 --"]:
        quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
        rule = _rule(schema, f'name = "{quoted}"')
        for target in WAREHOUSES:
            tree = _parse_back(compile_rule(rule, schema, target=target).sql, target)
            values = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
            assert values == [text], (target, text, values)


def _schema(fields: dict):
    schema, diagnostics = schema_from_dict({"entity": "thing", "table": "things", "key": "id",
                                            "fields": {"id": {"type": "int", "nullable": False}, **fields}})
    assert schema is not None, diagnostics
    return schema


def _rule(schema, text: str):
    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression

    parsed = parse_expression(text, "<test>")
    assert parsed.expr is not None, parsed.diagnostics
    rule, diagnostics = check_expression(parsed.expr, schema)
    assert rule is not None, diagnostics
    return rule


def test_decimal_values_of_the_examples_are_never_bare_on_bigquery():
    for ws, segment in _examples():
        result = _compiled(ws, segment, "bigquery", as_of=AS_OF)
        for statement in result.statements:
            numbers = [t.text for t in sqlglot.tokenize(statement, read="bigquery")
                       if t.token_type.name == "NUMBER"]
            assert not [n for n in numbers if "." in n], (segment.name, statement)
    assert get_target("bigquery").decimal_literals == "cast"


def test_parameters_only_where_the_clients_bind_them_by_name(constructs):
    import segdsl

    bound = segdsl.compile_sql(constructs, "text_matches", target="bigquery", params=True)
    assert bound.ok and "@p1" in bound.sql and bound.params["p1"]
    for target in ("snowflake", "trino"):  # their clients bind positional markers
        with pytest.raises(segdsl.UsageError, match="parameter markers") as caught:
            segdsl.compile_sql(constructs, "text_matches", target=target, params=True)
        assert caught.value.param == "params"
        assert segdsl.compile_sql(constructs, "text_matches", target=target).ok
