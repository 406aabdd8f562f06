"""Real SQL engines: connect, create the profile table, load records, run compiled SQL.

Postgres (psycopg 3, loaded with COPY), DuckDB, SQLite (STRICT tables) and MySQL/MariaDB
share one storage convention per type, documented in ``docs/schema.md``; how each engine
differs is its :class:`~segdsl.backends.sql.targets.Target` record, and the statements
come from :mod:`segdsl.backends.sql.storage`. Records are dicts keyed by column with the
Python values of :mod:`segdsl.data.tables`. Every driver import is lazy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any


from segdsl.backends.sql import storage
from segdsl.backends.sql.storage import table_path
from segdsl.backends.sql.targets import family_target
from segdsl.data.connection import Engine, EngineError, arrow_batches, stored_rows
from segdsl.schema.model import Field, Kind, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from segdsl.data.tables import Table

def connect(dsn: str, *, create: bool = True) -> Engine:
    """Open ``dsn``: a Postgres URL or keyword string, ``duckdb:PATH`` or ``sqlite:PATH``
    (``:memory:`` for an in-memory database). Without ``create``, a database file that
    does not exist is an error, rather than created empty."""
    from segdsl.data.dsn import DSN_SCHEMES, dsn_scheme, unknown_scheme

    problem = unknown_scheme(dsn)
    if problem is not None:
        raise EngineError(problem)
    if DSN_SCHEMES.get(dsn_scheme(dsn) or "") == "spark":
        from segdsl.data import spark

        return spark.connect(dsn, create=create)
    if dsn.startswith(("mysql://", "mariadb://")):
        return _connect_mysql(dsn)
    if dsn.startswith(("duckdb:", "sqlite:")) and not create:
        path = _file_path(dsn)
        if path != ":memory:" and not Path(path).exists():
            raise EngineError(f"no database at {dsn}: the file does not exist; load the project's data into it "
                              "with `segdsl db load --dsn ...` first")
    if dsn.startswith("duckdb:"):
        import duckdb

        try:
            return Engine("duckdb", duckdb.connect(_file_path(dsn)))
        except duckdb.Error as exc:
            # e.g. another process has the file open: DuckDB lets one process at a time.
            raise EngineError(f"cannot open {dsn}: {str(exc).strip()}") from None
    if dsn.startswith("sqlite:"):
        import sqlite3

        try:
            # A load holds the write lock to its end; others wait up to a minute for it.
            conn = sqlite3.connect(_file_path(dsn), timeout=60)
        except sqlite3.Error as exc:
            raise EngineError(f"cannot open {dsn}: {str(exc).strip()}") from None
        register_functions(conn)
        return Engine("sqlite", conn)
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


def register_functions(conn) -> None:
    """Give a SQLite connection the functions segdsl's SQL for SQLite calls: SQLite has
    no SHA-256, so a split's or holdout's bucket reads
    :data:`segdsl.ir.semantics.BUCKET_HASH_FUNCTION` (see docs/language.md). Any
    program that runs `segdsl compile --target sqlite` output must register it too."""
    from segdsl.ir.semantics import BUCKET_HASH_FUNCTION, bucket_hash

    conn.create_function(BUCKET_HASH_FUNCTION, 1, bucket_hash, deterministic=True)


def _file_path(dsn: str) -> str:
    """The database file of ``duckdb:PATH`` / ``sqlite:PATH`` (``//`` allowed before it)."""
    return dsn.partition(":")[2].removeprefix("//") or ":memory:"


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
        wanted = family_target("mysql").key_collations
        cur.execute("SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN %s", (wanted,))
        found = {row[0] for row in cur.fetchall()}
    return Engine("mysql", conn, key_collation=next((c for c in wanted if c in found), None))


# ----------------------------------------------------------------------- tables


def create_table_sql(schema: Schema, family: str, table: str | None = None, *,
                     key_collation: str | None = None) -> list[str]:
    """DROP + CREATE statements for the profile table (see :func:`segdsl.backends.sql.storage.create_table`)."""
    return storage.create_table(family_target(family), schema, table, key_collation=key_collation)


def storage_value(family: str, kind: Kind, value: Any, scale: int = 0) -> Any:
    """A Python value in the form ``family`` stores it (see :func:`segdsl.backends.sql.storage.storage_value`)."""
    return storage.storage_value(family_target(family), kind, value, scale)


def load_records(
    engine: Engine, schema: Schema, records: Iterable[Mapping[str, Any]] | Table, table: str | None = None, *,
    create: bool = True,
) -> int:
    """Load ``records`` (or a :class:`~segdsl.data.tables.Table`, read a batch of rows at a
    time) into the schema's table, created afresh (``create``) or emptied first (an
    existing table of the same shape); returns the row count. One table, committed on
    its own: a project's tables are loaded as one unit by :func:`segdsl.data.loading.load_project`."""
    t = engine.target
    name = table or schema.table
    if create:
        engine.executescript(storage.create_table(t, schema, table, key_collation=engine.key_collation))
    else:
        engine.execute(storage.delete_rows(t, name))
    try:
        count = fill_table(engine, schema, records, name, name)
        engine.commit()
    except BaseException:
        # Nothing half-loaded stays behind, and the connection stays usable.
        engine.rollback()
        raise
    return count


def fill_table(engine: Engine, schema: Schema, records: Iterable[Mapping[str, Any]] | Table, into: str,
          label: str) -> int:
    """Insert ``records`` into the table ``into`` (of ``schema``'s shape), without
    committing; errors name the table as ``label``."""
    from segdsl.data.tables import DataError

    fields = schema.stored_fields()
    try:
        if engine.target.bulk_load == "arrow":
            return _insert_arrow(engine, into, arrow_batches(engine.target, schema, records, label))
        return _insert(engine, fields, into, stored_rows(engine.target, schema, records, label))
    except (DataError, EngineError):
        raise
    except Exception as exc:  # driver-specific error classes
        raise EngineError(f"{engine.family}: loading `{label}`: {str(exc).strip()}") from exc


def _insert(engine: Engine, fields: list[Field], name: str, rows: Iterable[tuple]) -> int:
    t = engine.target
    count = 0
    if t.bulk_load == "copy":
        from psycopg import sql as pgsql

        where, table = table_path(t, name)
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(*([where] if where is not None else []), table),
            pgsql.SQL(", ").join(pgsql.Identifier(f.column) for f in fields),
        )
        with engine.conn.cursor() as cur, cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = list(rows)
    if batch:
        # PyMySQL batches an INSERT ... VALUES with %s markers into multi-row inserts.
        insert = storage.insert_rows(t, name, [f.column for f in fields])
        if t.cursors:
            with engine.conn.cursor() as cur:
                cur.executemany(insert, batch)
        else:
            engine.conn.executemany(insert, batch)
    return len(batch)


def _insert_arrow(engine: Engine, name: str, batches: Iterable[pa.RecordBatch]) -> int:
    """DuckDB inserts row by row slowly: hand it each Arrow record batch instead."""
    import pyarrow as pa

    count = 0
    for batch in batches:
        engine.conn.register("segdsl_load", pa.Table.from_batches([batch]))
        try:
            engine.execute(storage.insert_select_all(engine.target, name, "segdsl_load"))
        finally:
            engine.conn.unregister("segdsl_load")
        count += batch.num_rows
    return count


def fetch_keys(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> list:
    return [row[0] for row in engine.execute(sql, params)]


def fetch_count(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> int:
    rows = engine.execute(sql, params)
    return int(rows[0][0])
