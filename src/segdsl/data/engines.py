"""Real SQL engines: connect, create the profile table, load records, run compiled SQL.

Postgres (psycopg 3, loaded with COPY), DuckDB and SQLite (STRICT tables) share one
storage convention per type, documented in ``docs/schema.md``; records are dicts keyed
by column with the Python values of :mod:`segdsl.data.tables`. Every driver import is lazy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from segdsl.schema.model import Field, Kind, Schema

if TYPE_CHECKING:
    from segdsl.data.tables import Table

_TYPES = {
    "postgres": {
        Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE PRECISION", Kind.TEXT: "TEXT", Kind.ENUM: "TEXT",
        Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "TIMESTAMPTZ", Kind.TAGS: "TEXT[]",
    },
    "duckdb": {
        Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.TEXT: "TEXT", Kind.ENUM: "TEXT",
        Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "TIMESTAMPTZ", Kind.TAGS: "TEXT[]",
    },
    # Default collations stay as the server has them; compiled SQL asks for binary
    # comparison itself. Timestamps are UTC wall-clock DATETIME(6).
    "mysql": {
        Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.TEXT: "TEXT", Kind.ENUM: "VARCHAR(255)",
        Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "DATETIME(6)", Kind.TAGS: "JSON",
    },
    # STRICT tables: a value of the wrong type is an error, never silently text.
    "sqlite": {
        Kind.INT: "INTEGER", Kind.DECIMAL: "INTEGER", Kind.FLOAT: "REAL", Kind.TEXT: "TEXT", Kind.ENUM: "TEXT",
        Kind.BOOL: "INTEGER", Kind.DATE: "TEXT", Kind.TIMESTAMP: "TEXT", Kind.TAGS: "TEXT",
    },
}


class EngineError(Exception):
    """A connection or execution problem, with a message fit for the user."""


@attrs.define
class Engine:
    """One open connection to a SQL engine."""

    family: str  # "postgres" | "duckdb" | "sqlite"
    conn: Any

    @property
    def dialect(self) -> str:
        return self.family

    @property
    def binds_named_params(self) -> bool:
        """Whether compiled SQL can be run with named parameters. PyMySQL expects
        pyformat markers that sqlglot does not emit for MySQL, so MySQL gets literals,
        which are quoted safely whatever the server's SQL mode."""
        return self.family != "mysql"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        try:
            if self.family in ("postgres", "mysql"):
                with self.conn.cursor() as cur:
                    cur.execute(sql, params or None)
                    return list(cur.fetchall()) if cur.description else []
            cur = self.conn.execute(sql, dict(params or {}))
            return cur.fetchall() if cur.description else []
        except Exception as exc:  # driver-specific error classes
            if self.family in ("postgres", "mysql"):
                self.conn.rollback()
            raise EngineError(f"{self.family}: {str(exc).strip()}") from exc

    def executescript(self, statements: Sequence[str]) -> None:
        for s in statements:
            self.execute(s)
        self.commit()

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(dsn: str) -> Engine:
    """Open ``dsn``: a Postgres URL or keyword string, ``duckdb:PATH`` or ``sqlite:PATH``
    (``:memory:`` for an in-memory database)."""
    if dsn.startswith(("mysql://", "mariadb://")):
        return _connect_mysql(dsn)
    if dsn.startswith(("duckdb:", "sqlite:")):
        family, _, path = dsn.partition(":")
        path = path.removeprefix("//") or ":memory:"
        if family == "duckdb":
            import duckdb

            return Engine("duckdb", duckdb.connect(path))
        import sqlite3

        return Engine("sqlite", sqlite3.connect(path))
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is an optional dependency
        raise EngineError("Postgres support needs psycopg: pip install 'segdsl[postgres]'") from None
    try:
        conn = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise EngineError(f"cannot connect to Postgres: {str(exc).strip()}") from None
    # Sessions may set any time zone; segdsl's SQL never depends on it, but COPY of
    # timestamps in text form does, so pin it.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()
    return Engine("postgres", conn)


def _connect_mysql(dsn: str) -> Engine:
    from urllib.parse import unquote, urlsplit

    try:
        import pymysql
    except ImportError:  # pragma: no cover - optional dependency
        raise EngineError("MySQL/MariaDB support needs PyMySQL: pip install 'segdsl[mysql]'") from None
    url = urlsplit(dsn)
    try:
        conn = pymysql.connect(
            host=url.hostname or "127.0.0.1", port=url.port or 3306, user=unquote(url.username or "root"),
            password=unquote(url.password or ""), database=url.path.lstrip("/") or None, charset="utf8mb4",
            connect_timeout=10, autocommit=False,
        )
    except pymysql.MySQLError as exc:
        raise EngineError(f"cannot connect to MySQL/MariaDB: {exc}") from None
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    return Engine("mysql", conn)


# ----------------------------------------------------------------------- tables


def create_table_sql(schema: Schema, family: str, table: str | None = None) -> list[str]:
    """DROP + CREATE statements for the profile table, built with sqlglot."""
    from sqlglot import exp

    name = table or schema.table
    ident = exp.Table(this=exp.to_identifier(name, quoted=True))
    cols = []
    for f in schema.stored_fields():
        constraints = []
        if not f.nullable:
            constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        if f.name == schema.key.name:
            constraints.append(exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint()))
        cols.append(
            exp.ColumnDef(
                this=exp.to_identifier(f.column, quoted=True),
                kind=exp.DataType.build(_column_type(f, family, f.name == schema.key.name), dialect=family),
                constraints=constraints,
            )
        )
    drop = exp.Drop(tables=[ident.copy()], kind="TABLE", exists=True).sql(family, identify=True)
    create = exp.Create(this=exp.Schema(this=ident, expressions=cols), kind="TABLE").sql(family, identify=True)
    if family == "sqlite":
        # sqlglot parses SQLite's STRICT but does not generate it; the statement is
        # built from the schema only, so appending the keyword is safe.
        create += " STRICT"
    return [drop, create]


def _column_type(f: Field, family: str, key: bool = False) -> str:
    if f.kind is Kind.DECIMAL and family != "sqlite":
        return f"DECIMAL({f.type.precision}, {f.type.scale})"
    if key and family == "mysql" and f.kind is Kind.TEXT:
        return "VARCHAR(255)"  # MySQL cannot index TEXT without a prefix length
    return _TYPES[family][f.kind]


def storage_value(family: str, kind: Kind, value: Any, scale: int = 0) -> Any:
    """A Python value in the form ``family`` stores it."""
    if value is None:
        return None
    if kind is Kind.TAGS:
        tags = sorted(value)
        return json.dumps(tags, ensure_ascii=False) if family in ("sqlite", "mysql") else tags
    if family == "mysql" and isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if family != "sqlite":
        return value
    match value:
        case bool():
            return int(value)
        case Decimal():
            # Whole units of the last decimal place: sums and comparisons stay exact.
            return int(value.scaleb(scale))
        case dt.datetime():
            return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        case dt.date():
            return value.isoformat()
    return value


def load_records(
    engine: Engine, schema: Schema, records: Iterable[Mapping[str, Any]] | Table, table: str | None = None, *,
    create: bool = True,
) -> int:
    """Load ``records`` (or a :class:`~segdsl.data.tables.Table`, read a batch of rows at a
    time) into the schema's table, created afresh (``create``) or emptied first (an
    existing table of the same shape); returns the row count."""
    from sqlglot import exp

    from segdsl.data.tables import Table

    fields = schema.stored_fields()
    name = table or schema.table
    if create:
        engine.executescript(create_table_sql(schema, engine.family, table))
    else:
        engine.execute(exp.Delete(this=exp.Table(this=exp.to_identifier(name, quoted=True))).sql(
            engine.family, identify=True))
    if isinstance(records, Table):
        # Row tuples straight from the columns: never a list of dicts of a whole table.
        values: Iterable[tuple] = records.iter_rows([f.column for f in fields])
    else:
        values = (tuple(r.get(f.column) for f in fields) for r in records)
    rows = (
        tuple(storage_value(engine.family, f.kind, v, f.type.scale or 0) for f, v in zip(fields, row))
        for row in values
    )
    count = 0
    if engine.family == "postgres":
        from psycopg import sql as pgsql

        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(name), pgsql.SQL(", ").join(pgsql.Identifier(f.column) for f in fields)
        )
        with engine.conn.cursor() as cur, cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        engine.commit()
        return count
    insert = exp.Insert(
        this=exp.Schema(
            this=exp.Table(this=exp.to_identifier(name, quoted=True)),
            expressions=[exp.to_identifier(f.column, quoted=True) for f in fields],
        ),
        expression=exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in fields])]),
    ).sql(engine.family, identify=True)
    batch = list(rows)
    if batch and engine.family == "duckdb":
        # DuckDB inserts row by row slowly; hand it one Arrow table instead.
        import pyarrow as pa

        columns = {f.column: [row[i] for row in batch] for i, f in enumerate(fields)}
        arrow = pa.table({name: pa.array(values, type=_arrow_type(f)) for (name, values), f in zip(columns.items(), fields)})
        copy_in = exp.insert(
            exp.select("*").from_(exp.to_table("segdsl_load")), exp.Table(this=exp.to_identifier(name, quoted=True))
        ).sql("duckdb", identify=True)
        engine.conn.register("segdsl_load", arrow)
        try:
            engine.execute(copy_in)
        finally:
            engine.conn.unregister("segdsl_load")
    elif batch and engine.family == "mysql":
        # PyMySQL batches an INSERT ... VALUES with %s markers into multi-row inserts.
        insert = exp.Insert(
            this=exp.Schema(
                this=exp.Table(this=exp.to_identifier(name, quoted=True)),
                expressions=[exp.to_identifier(f.column, quoted=True) for f in fields],
            ),
            expression=exp.Values(expressions=[exp.Tuple(expressions=[exp.Var(this="%s") for _ in fields])]),
        ).sql("mysql", identify=True)
        with engine.conn.cursor() as cur:
            cur.executemany(insert, batch)
    elif batch:
        engine.conn.executemany(insert, batch)
    engine.commit()
    return len(batch)


def _arrow_type(f: Field):
    import pyarrow as pa

    return {
        Kind.INT: pa.int64(), Kind.FLOAT: pa.float64(), Kind.TEXT: pa.string(), Kind.ENUM: pa.string(),
        Kind.BOOL: pa.bool_(), Kind.DATE: pa.date32(), Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        Kind.TAGS: pa.list_(pa.string()),
    }.get(f.kind) or pa.decimal128(f.type.precision, f.type.scale)


def load_project(
    engine: Engine, schema: Schema, tables: Mapping[str, Iterable[Mapping[str, Any]] | Table], *,
    create: bool = True,
) -> dict[str, int]:
    """Load the entity table and every source table. ``tables`` maps table names to
    records or :class:`~segdsl.data.tables.Table` s; a source with no records gets an empty
    table, so SQL that reads it still runs. Returns the row count per table."""
    counts = {schema.table: load_records(engine, schema, tables.get(schema.table, ()), create=create)}
    for source in schema.sources.values():
        counts[source.table] = load_records(engine, source, tables.get(source.table, ()), create=create)
    return counts


def fetch_keys(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> list:
    return [row[0] for row in engine.execute(sql, params)]


def fetch_count(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> int:
    rows = engine.execute(sql, params)
    return int(rows[0][0])
