"""One open connection to a SQL engine (:class:`Engine`), the error every engine's
problems become (:class:`EngineError`), and rows in the form each target stores them:
what the engines of :mod:`segdsl.data.engines` and :mod:`segdsl.data.spark` share.
Every driver import is lazy."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from segdsl.backends.sql import storage
from segdsl.backends.sql.targets import Target, family_target
from segdsl.schema.model import Field, Kind, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from segdsl.data.tables import Table

#: Rows per Arrow record batch a load encodes at a time (:func:`arrow_batches`): a
#: batch's Python values are let go before the next is read, so a load's memory is its
#: typed columns and one batch, not a whole table as Python objects.
ARROW_BATCH_ROWS = 100_000


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


def arrow_type(f: Field):
    """The Arrow type of a stored field's values (as :func:`stored_rows` gives them on
    the engines that store native types)."""
    import pyarrow as pa

    return {
        Kind.INT: pa.int64(), Kind.FLOAT: pa.float64(), Kind.TEXT: pa.string(), Kind.ENUM: pa.string(),
        Kind.BOOL: pa.bool_(), Kind.DATE: pa.date32(), Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        Kind.TAGS: pa.list_(pa.string()),
    }.get(f.kind) or pa.decimal128(f.type.precision, f.type.scale)


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of ``schema``'s stored fields (see :func:`arrow_type`)."""
    import pyarrow as pa

    return pa.schema([pa.field(f.column, arrow_type(f)) for f in schema.stored_fields()])


def arrow_batches(t: Target, schema: Schema, records: Iterable[Mapping[str, Any]] | Table, table: str, *,
                  rows: int | None = None) -> Iterator[pa.RecordBatch]:
    """The rows of ``records`` as :func:`stored_rows` gives them (validated likewise),
    as Arrow record batches of :func:`arrow_schema` of at most ``rows`` (default
    :data:`ARROW_BATCH_ROWS`) rows each; none for no records."""
    import pyarrow as pa

    shape = arrow_schema(schema)
    stream = stored_rows(t, schema, records, table)
    while True:
        batch = list(itertools.islice(stream, rows or ARROW_BATCH_ROWS))
        if not batch:
            return
        columns = list(zip(*batch))
        del batch  # the rows' Python values go with their columns, before the next batch is read
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, shape)]
        del columns
        yield pa.record_batch(arrays, schema=shape)
