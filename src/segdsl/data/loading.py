"""Loading a project's tables as one unit (``segdsl db load``), and checking, before a
command reads them, that a database holds them.

A load creates the entity table and every source table under new names, fills them,
then swaps them in together with its load record (:mod:`segdsl.data.load_record`): in
one transaction where the engine's DDL is transactional (Postgres, DuckDB, SQLite),
else (MySQL, MariaDB) in one RENAME TABLE of every table, which the server applies
atomically. A reader therefore sees the previous load or this one, never a mix; a load
killed at any moment leaves the previous one whole, and its leftovers are dropped by
the next load. How each engine differs is its :class:`~segdsl.backends.sql.targets.Target`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from segdsl.backends.sql import storage
from segdsl.backends.sql.storage import table_path
from segdsl.backends.sql.targets import Target
from segdsl.data import load_record
from segdsl.data.engines import Engine, EngineError, connect, fill_table
from segdsl.schema.model import Schema

if TYPE_CHECKING:
    from segdsl.data.tables import Table


def load_project(
    engine: Engine, schema: Schema, tables: Mapping[str, Iterable[Mapping[str, Any]] | Table], *,
    create: bool = True,
) -> dict[str, int]:
    """Load the entity table and every source table as one unit (see the module's
    docstring); concurrent loads into one database wait for each other. ``tables`` maps
    table names to records or :class:`~segdsl.data.tables.Table` s; a source with no
    records gets an empty table, so SQL that reads it still runs. Returns the row count
    per table. With ``create`` false, the existing tables (of the same shape, from an
    earlier load) are emptied and refilled instead, in one transaction."""
    t = engine.target
    if t.bulk_load == "parquet":  # files swapped in by a record file, not by DDL
        from segdsl.data import spark

        return spark.load_project(engine, schema, tables)
    members = load_record.project_tables(schema)
    schemas = {table_path(t, name)[0] for name, _ in members}
    try:
        engine.begin()
        _lock_loads(engine)
        if not create:
            counts = {name: _refill(engine, s, tables.get(name, ()), name) for name, s in members}
            engine.commit()
            return counts
        for name in sorted(schemas - {None}):
            engine.execute(storage.create_schema(t, name))
        _drop_leftovers(engine, schemas)
        load_id = load_record.new_load_id()
        swaps, counts = [], {}
        for n, (name, s) in enumerate(members):
            new = load_record.working_name(table_path(t, name)[0], "new", load_id, n)
            for statement in storage.create_table(t, s, new, key_collation=engine.key_collation)[1:]:
                engine.execute(statement)  # [1:]: the name is new, there is nothing to drop
            swaps.append((new, name))
            counts[name] = fill_table(engine, s, tables.get(name, ()), new, name)
        swaps.append(_new_record(engine, schema, load_id))
        _swap(engine, swaps, load_id)
    except BaseException:
        engine.rollback()
        if not t.transactional_ddl:  # elsewhere the rollback took the new tables with it
            _drop_leftovers(engine, schemas, quietly=True)
        raise
    finally:
        _unlock_loads(engine)
    return counts


def _lock_loads(engine: Engine) -> None:
    if engine.target.load_lock is None:
        return
    rows = engine.execute(engine.target.load_lock)
    if rows and rows[0][0] == 0:
        raise EngineError(f"{engine.family}: another `segdsl db load` into this database has run for an hour; "
                          "not waiting longer")


def _unlock_loads(engine: Engine) -> None:
    if engine.target.load_unlock is not None:
        try:
            engine.execute(engine.target.load_unlock)
        except EngineError:
            pass  # the session is gone, and its lock with it


def _drop_leftovers(engine: Engine, schemas: set[str | None], *, quietly: bool = False) -> None:
    """Drop the new and old tables of loads killed before they finished (none can be
    left where DDL is transactional, but looking costs one query)."""
    t = engine.target
    try:
        for schema_name in schemas:
            sql, params = storage.list_tables(t, schema_name)
            for (table,) in engine.execute(sql, params):
                if load_record.is_working_name(table):
                    full = table if schema_name is None else f"{schema_name}.{table}"
                    engine.execute(storage.drop_table(t, full))
        if not t.transactional_ddl:
            engine.commit()
    except EngineError:
        if not quietly:
            raise


def _tables_in(engine: Engine, schema_name: str | None) -> set[str]:
    sql, params = storage.list_tables(engine.target, schema_name)
    return {row[0] for row in engine.execute(sql, params)}


def _new_record(engine: Engine, schema: Schema, load_id: str) -> tuple[str, str]:
    """The load record's new table: the records of the other projects in the database
    (read under the load lock, so none is lost) and this load's."""
    t = engine.target
    where = table_path(t, schema.table)[0]
    name = _record_name(t, schema)
    kept = []
    if load_record.RECORD_TABLE in _tables_in(engine, where):
        rows = engine.execute(storage.select_columns(t, name, load_record.RECORD_COLUMNS))
        kept = [dict(zip(load_record.RECORD_COLUMNS, row)) for row in rows if row[0] != schema.table]
    new = load_record.working_name(where, "new", load_id, "m")
    record = load_record.record_schema(new)
    for statement in storage.create_table(t, record, new, key_collation=engine.key_collation)[1:]:
        engine.execute(statement)
    fill_table(engine, record, [*kept, load_record.record_for(schema, load_id).row()], new, name)
    return new, name


def _record_name(t: Target, schema: Schema) -> str:
    """The load record's table: beside the entity table, in its schema."""
    where = table_path(t, schema.table)[0]
    return load_record.RECORD_TABLE if where is None else f"{where}.{load_record.RECORD_TABLE}"


def _swap(engine: Engine, swaps: list[tuple[str, str]], load_id: str) -> None:
    """Put each new table in its final name's place, all at once, analyzed: the planner
    knows their sizes from the moment they are visible."""
    t = engine.target
    if t.transactional_ddl:
        for new, final in swaps:
            engine.execute(storage.drop_table(t, final))
            for statement in storage.rename_tables(t, [(new, final)]):
                engine.execute(statement)
        # Under the final names: SQLite keeps statistics by table name.
        for statement in storage.analyze(t, [final for _, final in swaps]):
            engine.execute(statement)
        engine.commit()
        return
    engine.commit()  # the rows; MySQL's RENAME TABLE would commit them anyway
    # Before the swap: InnoDB's statistics follow a table when it is renamed.
    for statement in storage.analyze(t, [new for new, _ in swaps]):
        engine.execute(statement)
    present: dict[str | None, set[str]] = {}
    pairs, old = [], []
    for n, (new, final) in enumerate(swaps):
        where, table = table_path(t, final)
        if where not in present:
            present[where] = _tables_in(engine, where)
        if table in present[where]:
            old.append(load_record.working_name(where, "old", load_id, n))
            pairs.append((final, old[-1]))
        pairs.append((new, final))
    for statement in storage.rename_tables(t, pairs):
        engine.execute(statement)
    for name in old:
        engine.execute(storage.drop_table(t, name))
    engine.commit()


def _refill(engine: Engine, schema: Schema, records, name: str) -> int:
    engine.execute(storage.delete_rows(engine.target, name))
    return fill_table(engine, schema, records, name, name)





@contextlib.contextmanager
def open_loaded(dsn: str, schema: Schema) -> Iterator[Engine]:
    """:func:`connect` to ``dsn``, after checking with :func:`check_loaded` that it holds
    the project's tables, for a command that reads them (a database file that does not
    exist is not created)."""
    with connect(dsn, create=False) as engine:
        check_loaded(engine, schema)
        yield engine


def check_loaded(engine: Engine, schema: Schema) -> None:
    """Raise an :class:`EngineError` saying what is wrong unless the database holds the
    tables ``schema`` reads, each with the schema's columns, and, where a `segdsl db
    load` left a load record, loaded for this schema. (Without a record, the tables are
    the user's own.) A database never loaded is said to be so, rather than counted."""
    t = engine.target
    if t.bulk_load == "parquet":
        from segdsl.data import spark

        spark.check_loaded(engine, schema)
        return
    where = table_path(t, schema.table)[0]
    present = _tables_in(engine, where)
    if load_record.RECORD_TABLE in present:
        rows = engine.execute(storage.select_columns(t, _record_name(t, schema), load_record.RECORD_COLUMNS))
        record = next((load_record.LoadRecord.from_row(r) for r in rows if r[0] == schema.table), None)
        if record is not None:
            problem = load_record.shape_problem(schema, record)
            if problem is not None:
                raise EngineError(f"the tables of `{schema.table}` on this database were loaded (at "
                                  f"{record.loaded_at}) for another schema: {problem}; load them again with "
                                  "`segdsl db load`")
    missing, unreadable = [], []
    for name, s in load_record.project_tables(schema):
        try:
            engine.execute(storage.probe_columns(t, name, [f.column for f in s.stored_fields()]))
        except EngineError as exc:
            if table_path(t, name)[1] in _tables_in(engine, table_path(t, name)[0]):
                unreadable.append(f"`{name}` ({exc})")
            else:
                missing.append(f"`{name}`")
    if missing:
        what = "none of the project's tables" if len(missing) == len(load_record.project_tables(schema)) else \
            f"no table {', '.join(missing)}"
        unfinished = any(load_record.is_working_name(name) for name in present)
        raise EngineError(f"the database has {what}" + (" (a `segdsl db load` into it did not finish)" if unfinished
                                                        else "") +
                          ": load the project's data into it with `segdsl db load --dsn ...` first")
    if unreadable:
        raise EngineError(f"the database's tables do not have the schema's columns: {'; '.join(unreadable)}")
