"""Apache Spark as an engine: a local session, a cluster or Spark Connect, whose tables
are Parquet files in a warehouse folder.

DSNs (see :mod:`segdsl.data.dsn`):

- ``spark://local[N]`` (also ``local``, ``local[*]``): a local session with N cores;
- ``spark://HOST:PORT``: a standalone cluster's master;
- ``sc://HOST:PORT``: a Spark Connect server (Databricks included);
- ``spark://active``: the session already running in this process (a notebook's).

Each may end with ``?warehouse=DIR``: where `segdsl db load` writes the tables (default
``spark-warehouse``, Spark's own default, in the current directory). With a cluster or
Spark Connect, DIR must be a path both this process and the cluster reach.

**Sessions.** Spark has one session per process, and starting it takes seconds, so a
session segdsl starts is kept for the life of the process. pyspark runs either classic
sessions or Spark Connect ones in a process, never both, so a DSN of the other kind is
refused. A Spark Connect server is tried once (:func:`reach_server`) before its
session is made: its client would retry one that does not answer for ten minutes. A
session segdsl starts gets the settings its SQL is verified under (:data:`PINNED`):
UTC, ``TIMESTAMP_LTZ``, no escaped string literals. A session it is given
(``spark://active``, or one that was running before) is checked instead, and a setting
that differs is refused with the statement that fixes it: segdsl binds parameters,
which Spark turns into literals read under those settings.

**Tables, and loads as one unit.** A load writes every table of the project as Parquet
under a folder of its own (``segdsl_data/<entity table>/<load id>/``), from this process
(pyarrow, a file per batch of rows, so no table is held whole), then replaces the
project's load record (``segdsl_loads/<entity table>.json``: the tables, their folders
and their shape) with one atomic rename. A session registers each table of every record
as an external catalog table (``CREATE TABLE ... USING PARQUET LOCATION``), so views can
be created over them. A reader sees the previous load or the new one, never a mix; a
load killed at any moment leaves the previous one whole; the next load removes what a
killed one left, and keeps the previous load's files for readers still using them.
Concurrent loads of one project wait for each other (a lock file).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import attrs

from segdsl.backends.sql.storage import external_parquet_table, table_path
from segdsl.backends.sql.targets import family_target
from segdsl.data import load_record
from segdsl.data.connection import Engine, EngineError
from segdsl.data.files import fsync_directory
from segdsl.schema.model import Schema

if TYPE_CHECKING:
    from segdsl.data.tables import Table

#: The settings segdsl's Spark SQL is verified under: set on the sessions segdsl starts,
#: checked on a session it is given.
PINNED = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_LTZ",
    "spark.sql.parser.escapedStringLiterals": "false",
}
#: Settings of the sessions segdsl starts that only make a small local session quicker.
_LOCAL_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
}
DEFAULT_WAREHOUSE = "spark-warehouse"
_RECORDS, _DATA = "segdsl_loads", "segdsl_data"
_MASTER = re.compile(r"local(\[(\d+|\*)\])?|[A-Za-z0-9.\-]+:\d+")


@attrs.define
class SparkAddress:
    """A parsed Spark DSN."""

    kind: str  # "master" | "connect" | "active"
    where: str  # the master URL, the Spark Connect URL, or ""
    warehouse: Path


def parse_dsn(dsn: str) -> SparkAddress:
    """A ``spark://`` or ``sc://`` DSN, or a :class:`~segdsl.data.engines.EngineError`
    saying how such a DSN is written."""

    scheme, _, rest = dsn.partition("://")
    body, _, query = rest.partition("?")
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"warehouse"})
    if unknown:
        raise EngineError(f"unknown option `{unknown[0]}` in {dsn}: a Spark DSN takes only `?warehouse=DIR`")
    warehouse = Path((options.get("warehouse") or [DEFAULT_WAREHOUSE])[-1] or DEFAULT_WAREHOUSE)
    if scheme.lower() == "sc":
        if not body:
            raise EngineError(f"{dsn} names no Spark Connect server: write sc://HOST:PORT")
        return SparkAddress("connect", f"sc://{body}", warehouse)
    body = body.rstrip("/")
    if body == "active":
        return SparkAddress("active", "", warehouse)
    if not _MASTER.fullmatch(body):
        raise EngineError(f"{dsn} names no Spark master: write spark://local[2] (a local session with 2 cores), "
                          "spark://HOST:PORT (a cluster), spark://active (this process's session) or sc://HOST:PORT")
    return SparkAddress("master", body if body.startswith("local") else f"spark://{body}", warehouse)


# ------------------------------------------------------------------- sessions

#: The session segdsl started in this process (None: none yet). A session is the
#: process's for its whole life: Spark starts one per process.
_STARTED: Any = None
#: The catalog tables segdsl registered, per session (:func:`_session_key`): name → folder.
_REGISTERED: dict[str, dict[str, str]] = {}
#: Seconds to wait for a Spark Connect server to accept a connection (see :func:`reach_server`).
CONNECT_TIMEOUT = 10.0


def session(address: SparkAddress):
    """The Spark session for ``address``: the one running in this process if any
    (checked against :data:`PINNED` unless segdsl started it), else a new one with
    those settings."""
    global _STARTED

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("Spark support needs pyspark and Java 17: pip install 'segdsl[spark]' "
                          "(see docs/engines.md)") from None
    running = SparkSession.getActiveSession()
    if running is None and _STARTED is not None and not _is_stopped(_STARTED):
        running = _STARTED
    if running is not None:
        if address.kind != "active" and _is_connect(running) != (address.kind == "connect"):
            # pyspark keeps a process to one kind: a Spark Connect session switches the
            # process's pyspark to Spark Connect, a classic one's JVM stays for its life.
            running_kind = "a Spark Connect session" if _is_connect(running) else "a Spark session of its own"
            raise EngineError(f"{address.where}: this process already runs {running_kind}, and pyspark runs one "
                              "kind per process: use spark://active for that session, or run segdsl in another "
                              "process")
        if running is _STARTED:
            _pin(running)
        else:
            check_session(running)
        return running
    if address.kind == "active":
        raise EngineError("spark://active: no Spark session is running in this process; start one, or name "
                          "a master (spark://local[2]) or a Spark Connect server (sc://HOST:PORT)")
    if address.kind == "connect":
        started = _connect_session(SparkSession, address.where)
        _STARTED = started
        return started
    try:
        builder = SparkSession.builder.master(address.where).appName("segdsl")
        for key, value in _LOCAL_SETTINGS.items():
            builder = builder.config(key, value)
        if address.where.startswith("local"):
            # A shuffle partition per core: Spark's 200 cost a task each, whatever the data.
            cores = address.where.partition("[")[2].rstrip("]")
            parts = str(os.cpu_count() or 2) if cores in ("", "*") else cores
            builder = builder.config("spark.sql.shuffle.partitions", parts if cores else "1")
        # Errors only: segdsl reports what went wrong itself.
        log = Path(__file__).with_name("spark_log4j2.properties")
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log.as_uri()}")
        for key, value in PINNED.items():
            builder = builder.config(key, value)
        started = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing, a master that does not answer, ...
        raise EngineError(f"cannot start Spark ({address.where}): {_first_line(exc)}; Spark needs Java 17 "
                          "(see docs/engines.md)") from None
    _pin(started)
    _STARTED = started
    return started


def _connect_session(SparkSession, url: str):
    """A Spark Connect session to ``url`` with :data:`PINNED` set, once
    :func:`reach_server` has found the server."""
    reach_server(url)
    try:
        started = SparkSession.builder.remote(url).getOrCreate()
        _pin(started)
    except Exception as exc:  # noqa: BLE001 - the server's or the channel's error
        raise EngineError(f"Spark Connect ({url}): {_rpc_problem(exc)}") from None
    return started


def _rpc_problem(exc: BaseException) -> str:
    """The gRPC status and details behind a Spark Connect error that has them (pyspark's
    own message is then the RPC's whole debug text), else its first line."""
    cause: BaseException | None = exc
    while cause is not None:
        details, code = getattr(cause, "details", None), getattr(cause, "code", None)
        if callable(details) and callable(code):
            return f"{getattr(code(), 'name', code())}: {details()}"
        cause = cause.__cause__ or cause.__context__
    return _first_line(exc)


def reach_server(url: str) -> None:
    """Raise an EngineError unless the Spark Connect server at ``url`` accepts a
    connection: at the first failure to connect (nothing listening, an unknown host, a
    TLS handshake that fails), or after :data:`CONNECT_TIMEOUT` seconds without an
    answer. The session's own client would retry for ten minutes."""
    try:
        import grpc
        from pyspark.sql.connect.client import DefaultChannelBuilder
    except ImportError as exc:
        raise EngineError(f"Spark Connect needs pyspark's client packages ({exc.name or exc} is missing): "
                          "pip install 'segdsl[spark]'") from None
    try:
        builder = DefaultChannelBuilder(url)
    except Exception as exc:  # noqa: BLE001 - pyspark's message says how the URL is wrong
        raise EngineError(f"{url}: {_first_line(exc)}") from None
    states: queue.Queue = queue.Queue()
    seen = states.put
    channel = builder.toChannel()
    channel.subscribe(seen, try_to_connect=True)
    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                state = states.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise EngineError(f"the Spark Connect server at {builder.endpoint} did not answer in "
                                  f"{CONNECT_TIMEOUT:g} s") from None
            if state is grpc.ChannelConnectivity.READY:
                return
            if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
                raise EngineError(f"no Spark Connect server answers at {builder.endpoint}: is it running, "
                                  "and are the host and port right?")
    finally:
        channel.unsubscribe(seen)
        channel.close()


def _is_connect(spark) -> bool:
    """Whether ``spark`` is a Spark Connect session (a client of a server), not a
    classic one (this process's JVM)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _is_stopped(spark) -> bool:
    if _is_connect(spark):
        return spark.is_stopped
    return spark.sparkContext._jsc is None


def _session_key(spark) -> str:
    """What tells apart the catalogs of this process's sessions: a classic session's
    application (a session stopped and started again is a new one), a Spark Connect
    session's id on its server."""
    return f"connect:{spark.session_id}" if _is_connect(spark) else f"app:{spark.sparkContext.applicationId}"


def _pin(spark) -> None:
    with _quiet_settings():
        for key, value in PINNED.items():
            spark.conf.set(key, value)


def check_session(spark) -> None:
    """Refuse a session whose settings would make segdsl's SQL read its parameters
    otherwise than they mean (see :data:`PINNED`)."""

    for key, wanted in PINNED.items():
        with _quiet_settings():
            found = spark.conf.get(key, None)
        if found is None or found.lower() != wanted.lower():
            raise EngineError(f"the Spark session has {key}={found}; segdsl runs its SQL with {key}={wanted}: "
                              f"run spark.conf.set({key!r}, {wanted!r}) first (or let segdsl start the session)")


@contextlib.contextmanager
def _quiet_settings():
    """Spark Connect's client warns that spark.sql.parser.escapedStringLiterals is
    deprecated whenever it is read or set: segdsl pins it off on purpose (see
    :data:`PINNED`), so the warning says nothing to a user of segdsl."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The SQL config 'spark.sql.parser.escapedStringLiterals' has "
                                "been deprecated", category=UserWarning)
        yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ----------------------------------------------------------- the DB-API shape


class Connection:
    """What :class:`~segdsl.data.engines.Engine` needs of a connection, over a Spark
    session: ``execute`` and ``cursor`` (for streams); commit and rollback do nothing
    (a load is made atomic by its record, not by a transaction)."""

    def __init__(self, spark, address: SparkAddress):
        self.spark = spark
        self.address = address

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Cursor:
        cur = self.cursor()
        cur.execute(sql, params)
        return cur

    def cursor(self) -> Cursor:
        return Cursor(self.spark)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass  # the session stays for the process: starting one takes seconds


class Cursor:
    """One statement's result. Instants are read as microseconds after the epoch and
    turned into UTC datetimes here: pyspark would convert them in this process's local
    time zone, which cannot represent every instant of the years 1-9999."""

    def __init__(self, spark):
        self.spark = spark
        self.description: list[tuple] | None = None
        self._rows: Iterator | None = None
        self._micros: list[int] = []

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        df = self.spark.sql(sql, args=dict(params) if params else None)
        if not df.columns:
            df.collect()  # DDL runs when it is analysed; an empty result either way
            return
        fields = df.schema.fields
        self._micros = [n for n, f in enumerate(fields) if isinstance(f.dataType, TimestampType)]
        if self._micros:
            df = df.select(*[F.unix_micros(df[n]).alias(f.name) if n in self._micros else df[n]
                             for n, f in enumerate(fields)])
        self.description = [(f.name,) for f in fields]
        self._rows = df.toLocalIterator()

    def _convert(self, row) -> tuple:
        from segdsl.ir.semantics import from_epoch_micros

        values = list(row)
        for n in self._micros:
            if values[n] is not None:
                values[n] = from_epoch_micros(values[n])
        return tuple(values)

    def fetchall(self) -> list[tuple]:
        return [self._convert(r) for r in self._rows or ()]

    def fetchmany(self, size: int) -> list[tuple]:
        out = []
        for row in self._rows or ():
            out.append(self._convert(row))
            if len(out) >= size:
                break
        return out

    def close(self) -> None:
        self._rows = None


def connect(dsn: str, *, create: bool = True) -> Engine:
    """Open a Spark DSN: its session, with the tables of every load in its warehouse
    registered. (``create`` is accepted for symmetry: a warehouse is a folder.)"""
    address = parse_dsn(dsn)
    conn = Connection(session(address), address)
    register_loads(conn)
    return Engine("spark", conn)


# -------------------------------------------------------------------- loading


def _records_dir(warehouse: Path) -> Path:
    return warehouse / _RECORDS


def _record_path(warehouse: Path, entity_table: str) -> Path:
    return _records_dir(warehouse) / f"{entity_table}.json"


def read_records(warehouse: Path) -> dict[str, dict]:
    """Every project's load record in ``warehouse``: entity table → record."""
    out = {}
    folder = _records_dir(warehouse)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue  # not a record segdsl wrote
        if isinstance(record, dict) and isinstance(record.get("tables"), dict):
            out[str(record.get("entity_table"))] = record
    return out


def register_loads(conn: Connection) -> None:
    """Register the tables of every load record in the warehouse in the session's
    catalog (see the module's docstring)."""
    for record in read_records(conn.address.warehouse).values():
        _register(conn, record["tables"])


def _register(conn: Connection, tables: Mapping[str, str]) -> None:
    from segdsl.backends.sql.storage import create_schema, drop_table

    t = family_target("spark")
    spark = conn.spark
    registered = _REGISTERED.setdefault(_session_key(spark), {})
    for name, folder in tables.items():
        if registered.get(name) == folder:
            continue
        where, table = table_path(t, name)
        if where is not None:
            spark.sql(create_schema(t, where))
        if spark.catalog.tableExists(name):
            location = _our_location(spark, name)
            if location is None:
                raise EngineError(f"spark: the catalog already has a table `{name}` that segdsl did not load; "
                                  "segdsl will not replace it (rename it, or load into another database)")
            if _same_folder(location, folder):  # registered by an earlier process: a load's files never change
                registered[name] = folder
                continue
            spark.sql(drop_table(t, name))  # external: its files stay
        spark.sql(external_parquet_table(t, name, folder))
        registered[name] = folder


def _our_location(spark, name: str) -> str | None:
    """The folder of the catalog table ``name`` if segdsl registered it (external, its
    files in a load's folder), else None."""
    from segdsl.backends.sql.storage import describe_table

    rows = spark.sql(describe_table(family_target("spark"), name)).collect()
    info = {r[0]: r[1] for r in rows}
    location = str(info.get("Location", ""))
    return location if info.get("Type") == "EXTERNAL" and f"/{_DATA}/" in location else None


def _same_folder(location: str, folder: str) -> bool:
    """Whether a catalog table's location (``file:/x``, as Spark writes it) is the
    folder ``folder`` (``file:///x``)."""
    from urllib.parse import unquote, urlsplit

    a, b = urlsplit(location), urlsplit(folder)
    return a.scheme == b.scheme and unquote(a.path).rstrip("/") == unquote(b.path).rstrip("/")


def load_project(engine: Engine, schema: Schema, tables: Mapping[str, Iterable[Mapping[str, Any]] | Table]
                 ) -> dict[str, int]:
    """`segdsl db load` on Spark (see the module's docstring): every table written as
    Parquet, then the load record replaced at once."""
    conn: Connection = engine.conn
    warehouse = conn.address.warehouse.absolute()
    records = _records_dir(warehouse)
    records.mkdir(parents=True, exist_ok=True)
    with _load_lock(records / f".{schema.table}.lock"):
        previous = read_records(warehouse).get(schema.table)
        load_id = load_record.new_load_id()
        base = warehouse / _DATA / schema.table
        _remove_leftovers(base, keep={previous["load_id"]} if previous else set())
        folders, counts = {}, {}
        try:
            for n, (name, s) in enumerate(load_record.project_tables(schema)):
                folder = base / load_id / str(n)
                counts[name] = _write_table(engine, s, tables.get(name, ()), folder, name)
                folders[name] = folder.as_uri()
        except BaseException:
            shutil.rmtree(base / load_id, ignore_errors=True)  # a value the load refused: nothing it wrote stays
            raise
        for made in (base / load_id, base, base.parent):  # the new folders, durable before the record names them
            fsync_directory(made)
        record = {**load_record.record_for(schema, load_id).row(), "tables": folders}
        _replace_file(_record_path(warehouse, schema.table), json.dumps(record, ensure_ascii=False, indent=1))
        _register(conn, folders)
        _remove_leftovers(base, keep={load_id} | ({previous["load_id"]} if previous else set()))
    return counts


def _write_table(engine: Engine, s: Schema, records, folder: Path, label: str) -> int:
    """Write one table's rows as Parquet files into ``folder`` (validated and encoded as
    every engine's load does), a file per Arrow batch, so the rows are never held whole;
    the row count. The files are written here, not by Spark, and synced before the load
    record names them."""
    import pyarrow as pa
    import pyspark

    from segdsl.data.connection import arrow_batches, arrow_schema

    # Spark reads the dates and instants of a file no Spark wrote by the session's
    # spark.sql.parquet.datetimeRebaseModeInRead (LEGACY shifts those before 1582);
    # a Spark version in the file's metadata says they are proleptic Gregorian, as ours are.
    shape = arrow_schema(s).with_metadata({"org.apache.spark.version": pyspark.__version__})
    folder.mkdir(parents=True)
    count, n = 0, 0
    for n, batch in enumerate(arrow_batches(engine.target, s, records, label)):
        _write_parquet(folder / f"part-{n:05d}.parquet", pa.Table.from_batches([batch], shape))
        count += batch.num_rows
    if not count:  # one file with no rows: Spark reads the columns from it
        _write_parquet(folder / f"part-{n:05d}.parquet", shape.empty_table())
    fsync_directory(folder)
    return count


def _write_parquet(path: Path, table) -> None:
    import pyarrow.parquet as pq

    with open(path, "xb") as fh:
        pq.write_table(table, fh)
        fh.flush()
        os.fsync(fh.fileno())


def _remove_leftovers(base: Path, keep: set[str]) -> None:
    """Remove the folders of loads under ``base`` other than ``keep``: those a killed
    load left, and (once a new load is in) the ones before the previous load."""
    if not base.is_dir():
        return
    for folder in base.iterdir():
        if folder.name not in keep and load_record.is_load_id(folder.name):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _load_lock(path: Path):
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the process ends, kill -9 included
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by an atomic rename of a synced temporary file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".segdsl-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def check_loaded(engine: Engine, schema: Schema) -> None:
    """Raise an EngineError unless the warehouse holds a load of ``schema``'s tables,
    loaded for this schema."""

    conn: Connection = engine.conn
    record = read_records(conn.address.warehouse).get(schema.table)
    if record is None:
        raise EngineError(f"the Spark warehouse {conn.address.warehouse} has none of the project's tables: load "
                          "the project's data into it with `segdsl db load --dsn ...` first")
    found = load_record.LoadRecord.from_row([record.get(c) for c in load_record.RECORD_COLUMNS])
    problem = load_record.shape_problem(schema, found)
    if problem is not None:
        raise EngineError(f"the tables of `{schema.table}` in the Spark warehouse were loaded (at {found.loaded_at}) "
                          f"for another schema: {problem}; load them again with `segdsl db load`")
