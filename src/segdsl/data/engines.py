"""Real SQL engines: connect, create the profile table, load records, run compiled SQL.

Postgres (psycopg 3, loaded with COPY), DuckDB, SQLite (STRICT tables) and MySQL/MariaDB
share one storage convention per type, documented in ``docs/schema.md``; how each engine
differs is its :class:`~segdsl.backends.sql.targets.Target` record, and the statements
come from :mod:`segdsl.backends.sql.storage`. Records are dicts keyed by column with the
Python values of :mod:`segdsl.data.tables`. Every driver import is lazy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from segdsl.backends.sql import storage
from segdsl.backends.sql.storage import table_path
from segdsl.backends.sql.targets import Target, family_target
from segdsl.schema.model import Field, Kind, Schema

if TYPE_CHECKING:
    from segdsl.data.tables import Table

class EngineError(Exception):
    """A connection or execution problem, with a message fit for the user."""


@attrs.define
class Engine:
    """One open connection to a SQL engine."""

    family: str  # "postgres" | "duckdb" | "sqlite" | "mysql"
    conn: Any
    #: The collation a text key column gets in the tables segdsl creates: the first of
    #: ``Target.key_collations`` the server has (None: the type's default).
    key_collation: str | None = None

    @property
    def target(self) -> Target:
        return family_target(self.family)

    @property
    def dialect(self) -> str:
        return self.target.dialect

    @property
    def binds_named_params(self) -> bool:
        """Whether compiled SQL can be run with named parameters (see ``Target.named_params``)."""
        return self.target.named_params

    def execute(self, sql: str, params: Mapping[str, Any] | tuple | None = None) -> list[tuple]:
        """Run one statement with named (a mapping) or positional (a tuple, with
        ``Target.param_marker``) parameters; its rows, if it returns any."""
        cursors = self.target.cursors
        try:
            if cursors:
                with self.conn.cursor() as cur:
                    cur.execute(sql, params or None)
                    return list(cur.fetchall()) if cur.description else []
            cur = self.conn.execute(sql, params if isinstance(params, tuple) else dict(params or {}))
            return cur.fetchall() if cur.description else []
        except Exception as exc:  # driver-specific error classes
            if cursors:
                self.conn.rollback()
            raise EngineError(f"{self.family}: {str(exc).strip()}") from exc

    def stream(self, sql: str, params: Mapping[str, Any] | tuple | None = None, *,
               batch: int = 10_000) -> Iterator[tuple]:
        """The rows of one query, read ``batch`` at a time (see ``Target.stream_cursor``),
        so a result of millions of rows never sits in memory whole. Closing the
        iterator early closes the cursor."""
        how = self.target.stream_cursor
        try:
            if how == "named":
                cur = self.conn.cursor(name="segdsl_stream")
            elif how == "unbuffered":
                import pymysql.cursors

                cur = self.conn.cursor(pymysql.cursors.SSCursor)
            else:
                cur = self.conn.cursor()
            try:
                if how == "fetchmany" and not self.target.cursors:
                    cur.execute(sql, params if isinstance(params, tuple) else dict(params or {}))
                else:
                    cur.execute(sql, params or None)
                while True:
                    rows = cur.fetchmany(batch)
                    if not rows:
                        return
                    yield from rows
            finally:
                cur.close()
        except Exception as exc:  # driver-specific error classes
            if self.target.cursors:
                self.rollback()
            raise EngineError(f"{self.family}: {str(exc).strip()}") from exc

    def begin(self) -> None:
        """Begin a write transaction, where the driver does not begin one by itself."""
        if not self.target.cursors:
            self.execute(self.target.begin_write)

    def rollback(self) -> None:
        try:
            self.conn.rollback()
        except Exception:  # noqa: BLE001 - DuckDB's, when no transaction is open: nothing to undo
            pass

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
    rows = stored_rows(engine.target, schema, records, label)
    try:
        return _insert(engine, fields, into, rows)
    except (DataError, EngineError):
        raise
    except Exception as exc:  # driver-specific error classes
        raise EngineError(f"{engine.family}: loading `{label}`: {str(exc).strip()}") from exc


def stored_rows(t: Target, schema: Schema, records: Iterable[Mapping[str, Any]] | Table, table: str
                ) -> Iterator[tuple]:
    """Each row of ``records`` (of ``schema``'s shape) as a tuple of its stored fields in
    the form target ``t`` stores them; a value no engine can store exactly is a
    DataError naming its row (counted from 1) and column of ``table``."""
    from segdsl.data.tables import DataError, Table

    fields = schema.stored_fields()
    if isinstance(records, Table):
        # Row tuples straight from the columns: never a list of dicts of a whole table.
        values: Iterable[tuple] = records.iter_rows([f.column for f in fields])
    else:
        values = (tuple(r.get(f.column) for f in fields) for r in records)
    for n, row in enumerate(values, 1):
        out = []
        for f, v in zip(fields, row):
            try:
                out.append(storage.storage_value(t, f.kind, v, f.type.scale or 0))
            except ValueError as exc:
                raise DataError(f"table `{table}`, row {n}", None, f.column, str(exc)) from None
        yield tuple(out)


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
    if batch and t.bulk_load == "arrow":
        # DuckDB inserts row by row slowly; hand it one Arrow table instead.
        import pyarrow as pa

        columns = {f.column: [row[i] for row in batch] for i, f in enumerate(fields)}
        arrow = pa.table({name: pa.array(values, type=arrow_type(f)) for (name, values), f in zip(columns.items(), fields)})
        engine.conn.register("segdsl_load", arrow)
        try:
            engine.execute(storage.insert_select_all(t, name, "segdsl_load"))
        finally:
            engine.conn.unregister("segdsl_load")
    elif batch:
        # PyMySQL batches an INSERT ... VALUES with %s markers into multi-row inserts.
        insert = storage.insert_rows(t, name, [f.column for f in fields])
        if t.cursors:
            with engine.conn.cursor() as cur:
                cur.executemany(insert, batch)
        else:
            engine.conn.executemany(insert, batch)
    return len(batch)


def arrow_type(f: Field):
    """The Arrow type of a stored field's values (as :func:`stored_rows` gives them on
    the engines that store native types)."""
    import pyarrow as pa

    return {
        Kind.INT: pa.int64(), Kind.FLOAT: pa.float64(), Kind.TEXT: pa.string(), Kind.ENUM: pa.string(),
        Kind.BOOL: pa.bool_(), Kind.DATE: pa.date32(), Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        Kind.TAGS: pa.list_(pa.string()),
    }.get(f.kind) or pa.decimal128(f.type.precision, f.type.scale)


def fetch_keys(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> list:
    return [row[0] for row in engine.execute(sql, params)]


def fetch_count(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> int:
    rows = engine.execute(sql, params)
    return int(rows[0][0])
