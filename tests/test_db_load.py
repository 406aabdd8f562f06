"""`segdsl db load` on every engine: dotted table names mean a schema and a table, a
database never loaded (or loaded for another schema) is refused with a clear message
rather than counted, loaded tables are analyzed, and text keys differing only in case
or trailing spaces load as different keys on MariaDB."""

from __future__ import annotations

import uuid

import pytest
import sqlglot
from sqlglot import exp

import segdsl
from segdsl import ir
from segdsl.backends.sql import compile_rule
from segdsl.check.traits import load_schema, schema_from_dict
from segdsl.data.engines import EngineError, connect, fetch_count
from segdsl.data.loading import load_project

from load_projects import AS_OF, fresh_database, make_project


@pytest.fixture(params=["postgres", "mysql", "duckdb", "sqlite"])
def any_dsn(request, tmp_path):
    """The DSN of an empty database on each engine."""
    yield from fresh_database(request, request.param, tmp_path)


def _sizes(project, dsn=None) -> dict[str, int]:
    report = segdsl.sizes(segdsl.load_project(project), as_of=AS_OF, dsn=dsn)
    assert report.ok, report.diagnostics
    return {s.segment.name: s.size for s in report.sizes}


# ----------------------------------------------------------------- dotted table names


def _tables_read(sql: str, dialect: str) -> set[tuple[str, str]]:
    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    return {(t.db, t.name) for t in tree.find_all(exp.Table) if t.name not in ctes}


def test_a_dotted_table_name_is_a_schema_and_a_table_in_compiled_sql(tmp_path):
    project = make_project(tmp_path / "p", prefix="crm", guests=1)
    schema, diagnostics = load_schema(project / "schema.toml")
    assert schema is not None, diagnostics
    # A trait read from a source: the profile CTE reads the bookings table.
    rule = ir.Cmp(schema.fields["bookings_365d"], ">", 1)
    for dialect in ("postgres", "duckdb", "mysql", "bigquery", "snowflake", "trino"):
        sql = compile_rule(rule, schema, target=dialect, as_of=AS_OF).sql
        assert _tables_read(sql, dialect) == {("crm", "guests"), ("crm", "bookings")}, sql
    # SQLite has no schemas (its qualified names name attached files): one table each.
    sql = compile_rule(rule, schema, target="sqlite", as_of=AS_OF).sql
    assert _tables_read(sql, "sqlite") == {("", "crm.guests"), ("", "crm.bookings")}, sql


def test_load_and_size_agree_on_dotted_names_on_every_engine(tmp_path, any_dsn):
    crm = f"crm_{uuid.uuid4().hex[:8]}"
    project = make_project(tmp_path / "p", prefix=crm)
    expected = _sizes(project)
    try:
        loaded = segdsl.load_database(project, any_dsn)
        assert loaded.ok and loaded.rows[f"{crm}.guests"] == 60
        assert _sizes(project, any_dsn) == expected
        with connect(any_dsn) as engine:
            if engine.target.schemas:  # the table `guests` in the schema `crm_...`
                rows = engine.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = " +
                    ("%s" if engine.target.cursors else "?"), (crm,))
                assert {r[0] for r in rows} >= {"guests", "bookings", "segdsl_loads"}
            else:
                assert fetch_count(engine, f'SELECT COUNT(*) FROM "{crm}.guests"') == 60
    finally:
        with connect(any_dsn) as engine:
            if engine.target.schemas:
                engine.execute(f"DROP SCHEMA {crm}" + (" CASCADE" if engine.target.transactional_ddl else ""))
                engine.commit()


@pytest.mark.parametrize("table", ["a.b.c", ".guests", "crm.", "."])
def test_a_table_name_with_more_dots_or_an_empty_part_is_refused(table):
    schema, diagnostics = schema_from_dict({"entity": "guest", "table": table, "key": "id",
                                            "fields": {"id": {"type": "int", "nullable": False}}})
    assert schema is None
    assert [d.code for d in diagnostics] == ["E0302"] and "schema_name.name" in diagnostics[0].message


# ---------------------------------------------------------- what a reader is told


def test_a_database_never_loaded_is_said_to_be_so(tmp_path, any_dsn):
    project = make_project(tmp_path / "p", guests=1)
    connect(any_dsn).close()  # an empty database (file)
    with pytest.raises(EngineError, match="the database has none of the project's tables: load"):
        _sizes(project, any_dsn)
    ws = segdsl.load_project(project)
    with pytest.raises(EngineError, match="none of the project's tables"):
        segdsl.members(ws, as_of=AS_OF, dsn=any_dsn)


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_a_database_file_that_does_not_exist_is_not_created_by_a_reader(tmp_path, engine):
    project = make_project(tmp_path / "p", guests=1)
    path = tmp_path / f"none.{engine}"
    with pytest.raises(EngineError, match=f"no database at {engine}:.*: the file does not exist; load"):
        _sizes(project, f"{engine}:{path}")
    assert not path.exists()


def test_tables_loaded_for_another_schema_are_refused(tmp_path, any_dsn):
    project = make_project(tmp_path / "p", guests=5)
    assert segdsl.load_database(project, any_dsn).ok
    schema_file = project / "schema.toml"
    text = schema_file.read_text(encoding="utf-8")
    # A column added to the schema after the load: the tables lack it.
    schema_file.write_text(text.replace("[fields.first_name]", '[fields.nickname]\ntype = "text"\n\n'
                                        "[fields.first_name]", 1), encoding="utf-8")
    with pytest.raises(EngineError, match=r"loaded \(at .*\) for another schema: table `guests` has no column "
                                          r"`nickname`; load them again"):
        _sizes(project, any_dsn)
    schema_file.write_text(text, encoding="utf-8")
    assert _sizes(project, any_dsn) == _sizes(project)


def test_a_column_loaded_with_another_type_is_named(tmp_path):
    project = make_project(tmp_path / "p", guests=5)
    dsn = f"sqlite:{tmp_path / 'crm.sqlite'}"
    assert segdsl.load_database(project, dsn).ok
    schema_file = project / "schema.toml"
    schema_file.write_text(schema_file.read_text(encoding="utf-8").replace('"decimal(12, 2)"', '"decimal(12, 3)"'),
                           encoding="utf-8")
    with pytest.raises(EngineError, match=r"column `amount_inr` of table `bookings` was loaded as decimal \(scale 2\), "
                                          r"not decimal \(scale 3\)"):
        _sizes(project, dsn)


def test_a_missing_table_is_named(tmp_path, any_dsn):
    project = make_project(tmp_path / "p", guests=5)
    assert segdsl.load_database(project, any_dsn).ok
    with connect(any_dsn) as engine:
        engine.execute("DROP TABLE engagement_events")
        engine.commit()
    with pytest.raises(EngineError, match="the database has no table `engagement_events`: load"):
        _sizes(project, any_dsn)


def test_the_users_own_tables_need_no_load_record(tmp_path, any_dsn):
    """Tables of the user's own CRM, never loaded by segdsl: sized as they are."""
    project = make_project(tmp_path / "p", guests=5)
    assert segdsl.load_database(project, any_dsn).ok
    with connect(any_dsn) as engine:
        engine.execute("DROP TABLE segdsl_loads")
        engine.commit()
    assert _sizes(project, any_dsn) == _sizes(project)


# ---------------------------------------------------------------------- analyze


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def analyzed_dsn(request, tmp_path):
    """The DSN of an empty database on each engine whose statistics can be read back
    (DuckDB keeps its own as it inserts; its ANALYZE only refreshes them)."""
    yield from fresh_database(request, request.param, tmp_path)


def test_loaded_tables_are_analyzed(tmp_path, analyzed_dsn):
    """The planner knows each table's rows as soon as the load is visible, before any
    autoanalyze: Postgres's row estimates, SQLite's sqlite_stat1, InnoDB's statistics."""
    project = make_project(tmp_path / "p", guests=40)
    loaded = segdsl.load_database(project, analyzed_dsn)
    assert loaded.ok
    with connect(analyzed_dsn) as engine:
        t = engine.target
        if t.analyze == "list":  # Postgres
            found = dict(engine.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' "
                                        "AND relnamespace = current_schema()::regnamespace"))
            for table, n in loaded.rows.items():
                assert found[table] == n, (table, found)
        elif t.table_catalog == "sqlite_master":
            found = dict(engine.execute("SELECT tbl, CAST(stat AS INTEGER) FROM sqlite_stat1"))
            for table, n in loaded.rows.items():
                assert found.get(table, 0) == n, (table, found)
        else:  # MariaDB / MySQL: sampled, so near the count
            found = dict(engine.execute("SELECT table_name, n_rows FROM mysql.innodb_table_stats "
                                        "WHERE database_name = DATABASE()"))
            for table, n in loaded.rows.items():
                assert abs(found[table] - n) <= n // 2, (table, found)


# --------------------------------------------------------- MariaDB's text keys


def test_text_keys_differing_only_in_case_or_trailing_spaces_load_on_mariadb(tmp_path, mysql_dsn):
    """`a`, `A` and `a ` are three keys: the key column's collation is binary and does
    not pad, so MariaDB's primary key does not find them equal."""
    schema, diagnostics = schema_from_dict({"entity": "guest", "table": "text_key_guests", "key": "id", "fields": {
        "id": {"type": "text", "nullable": False}, "n": {"type": "int"}}})
    assert schema is not None, diagnostics
    keys = ["a", "A", "a ", "a  ", "é", "É", "e\u0301"]
    rows = [{"id": k, "n": i} for i, k in enumerate(keys)]
    with connect(mysql_dsn) as engine:
        assert engine.key_collation is not None
        assert load_project(engine, schema, {schema.table: rows}) == {"text_key_guests": len(keys)}
        found = engine.execute("SELECT id FROM text_key_guests")
        assert sorted(r[0] for r in found) == sorted(keys)
        # A server whose collations all pad or fold: the duplicate is a clear error, and
        # the previous load stays.
        engine.key_collation = None
        with pytest.raises(EngineError, match=r"mysql: loading `text_key_guests`: .*Duplicate entry"):
            load_project(engine, schema, {schema.table: rows[:2]})
        assert sorted(r[0] for r in engine.execute("SELECT id FROM text_key_guests")) == sorted(keys)
