"""What the `derive` and `sizing` figures share: the example segments, the traits they
read, the profile-deriving SQL segdsl compiles for an engine, checksums that prove two
engines derived the same profile, and per-task peak-memory probes."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from bench import ROOT
from bench.compile_time import BenchError

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SEGMENT_FILES = ("examples/hospitality/segments.seg", "examples/hospitality/system.seg")


# ------------------------------------------------------------------ Postgres


@contextlib.contextmanager
def private_schema(dsn: str, name: str) -> Iterator:
    """A connection to ``dsn`` whose search_path is a new, empty schema ``name``, which
    is dropped (with everything loaded into it) when the block ends, however it ends.
    Raises segdsl's EngineError when Postgres cannot be reached."""
    from urllib.parse import quote

    from segdsl.data.engines import connect

    admin = connect(dsn)
    try:
        admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.execute(f'CREATE SCHEMA "{name}"')
        admin.commit()
        if "://" in dsn:
            sep = "&" if "?" in dsn else "?"
            engine = connect(dsn + sep + "options=" + quote(f"-c search_path={name}"))
        else:
            engine = connect(f"{dsn} options='-c search_path={name}'")
        try:
            yield engine
        finally:
            engine.close()
    finally:
        try:
            admin.conn.rollback()
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            admin.commit()
        finally:
            admin.close()


# ------------------------------------------------------------------ segments and traits


def workspace():
    """The hospitality project with every example segment checked."""
    from segdsl.project.workspace import load_workspace

    ws = load_workspace([ROOT / p for p in SEGMENT_FILES])
    if not ws.ok or ws.schema is None:
        raise BenchError("examples/hospitality does not check: " + "; ".join(d.message for d in ws.diagnostics))
    return ws


def segments(ws) -> list:
    """Every segment of the example files, in file order."""
    return [s for path in ws.requested for s in ws.segments_in(path)]


def traits(ws) -> list:
    """The derived fields the example segments read (what `segdsl size` derives)."""
    from segdsl.backends.memory.profile import profile_fields

    return profile_fields([s.rule for s in segments(ws)])


def sources_needed(fields) -> list[str]:
    return sorted({f.derive.source for f in fields})


# ------------------------------------------------------------------ the profile in SQL


def profile_select(schema, fields, target: str):
    """The body of the ``WITH "profile" AS (...)`` CTE segdsl compiles for ``target``
    when a rule reads ``fields``, as a sqlglot tree. Taken from ``compile_rule``'s own
    output, so the baseline runs exactly the SQL segdsl would send."""
    import sqlglot
    from sqlglot import exp

    from segdsl import ir
    from segdsl.backends.sql import compile_rule

    rule = ir.Or(tuple(ir.IsNull(f) for f in fields))  # reads every trait once
    compiled = compile_rule(rule, schema, target=target, form="count", as_of=AS_OF, pretty=False)
    if not compiled.ok:
        raise BenchError(f"cannot compile the profile for {target}: {compiled.diagnostics[0].message}")
    tree = sqlglot.parse_one(compiled.sql, read=target)
    ctes = [c for c in tree.find_all(exp.CTE) if c.alias == "profile"]
    if len(ctes) != 1:
        raise BenchError(f"no `profile` CTE in the SQL compiled for {target}")
    return ctes[0].this


def profile_count_sql(schema, fields, target: str) -> str:
    """``SELECT COUNT(*), COUNT(<trait>), ... FROM (<profile>)``: every trait must be
    computed for every guest (COUNT(x) reads x), while the entity's own columns, which
    the in-memory profile shares rather than copies, can be pruned."""
    from sqlglot import exp

    body = profile_select(schema, fields, target)
    cols = [exp.Count(this=exp.Star())] + [exp.Count(this=exp.column(f.column, quoted=True)) for f in fields]
    sql = exp.select(*cols).from_(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier("p"))))
    return sql.sql(target, identify=True)


def checksum_sql(schema, fields, target: str) -> str:
    """Per trait: how many non-NULL values and a sum over them, so two engines' profiles
    can be compared without moving a million rows."""
    from sqlglot import exp, parse_one

    from segdsl.schema.model import Kind

    body = profile_select(schema, fields, target)
    parts = [exp.Count(this=exp.Star())]
    for f in fields:
        col = f'"{f.column}"'
        match f.kind:
            case Kind.TIMESTAMP:
                value = f"epoch_us({col})" if target == "duckdb" else f"(EXTRACT(EPOCH FROM {col}) * 1000000)::BIGINT"
            case Kind.DATE:
                value = f"({col} - DATE '1970-01-01')"
            case Kind.BOOL:
                value = f"CASE WHEN {col} THEN 1 ELSE 0 END"
            case Kind.TEXT | Kind.ENUM:
                value = f"LENGTH({col})"
            case _:
                value = col
        parts += [exp.Count(this=exp.column(f.column, quoted=True)),
                  exp.Sum(this=parse_one(value, read=target))]
    sql = exp.select(*parts).from_(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier("p"))))
    return sql.sql(target, identify=True)


def checksums_from_row(fields, row) -> dict:
    """The checksum query's one row, in the in-memory encodings (decimals scaled)."""
    from decimal import Decimal

    from segdsl.schema.model import Kind

    out = {"rows": int(row[0])}
    for i, f in enumerate(fields):
        count, total = row[1 + 2 * i], row[2 + 2 * i]
        if total is None:
            total = 0
        if f.kind is Kind.DECIMAL:
            total = int(Decimal(total).scaleb(f.type.scale or 0))
        out[f.column] = [int(count), int(total)]
    return out


def checksums_from_table(table, fields) -> dict:
    """The same checksums, from an in-memory profile :class:`segdsl.data.tables.Table`."""
    from segdsl.schema.model import Kind

    out = {"rows": table.n_rows}
    for f in fields:
        col = table.columns[f.column]
        values = col.values[col.valid]
        match f.kind:
            case Kind.TEXT | Kind.ENUM:
                total = sum(len(s) for s in values)
            case Kind.BOOL:
                total = int(values.sum())
            case _:
                total = int(values.astype(object).sum()) if len(values) else 0  # exact, no int64 overflow
        out[f.column] = [int(col.valid.sum()), int(total)]
    return out


# ------------------------------------------------------------------ memory


def peak_rss_mb() -> float:
    """This process's own peak resident set since it started: the kernel's VmHWM, with
    the peaks from before each :func:`reset_hwm` kept.

    Not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts at its parent's peak (it
    is carried over when the child execs), so a task spawned by a benchmark process
    that had grown to 4 GiB reported 4 GiB whatever it used itself."""
    return max(_PEAK_BEFORE_RESETS, hwm_mb())


#: The largest of this process's peaks that a reset_hwm() cleared.
_PEAK_BEFORE_RESETS = 0.0


def rss_mb(pid: int | str = "self") -> float:
    return _status(pid, "VmRSS")


def hwm_mb(pid: int | str = "self") -> float:
    """Peak resident set since the last :func:`reset_hwm` (or since start)."""
    return _status(pid, "VmHWM")


def reset_hwm(pid: int | str = "self") -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ≥ 4.0), so the next
    :func:`hwm_mb` is the peak of one phase. False where that is not allowed. For this
    process, the peak so far is kept for :func:`peak_rss_mb`."""
    global _PEAK_BEFORE_RESETS
    if pid == "self":
        _PEAK_BEFORE_RESETS = max(_PEAK_BEFORE_RESETS, hwm_mb())
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status(pid, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------ hand-off between tasks


def dump_tables(path, entity, sources: dict) -> None:
    """Write the loaded tables' columns (plain numpy arrays, no segdsl classes, so a
    reader with newer code can rebuild them) for the tasks that follow."""
    import pickle

    def plain(t):
        return {"n": t.n_rows, "columns": {k: (c.values, c.valid) for k, c in t.columns.items()}}

    with open(path, "wb") as f:
        pickle.dump({"entity": plain(entity), "sources": {k: plain(t) for k, t in sources.items()}}, f, protocol=5)


def load_tables(path, schema):
    """The entity table and the source tables :func:`dump_tables` wrote, as
    :class:`segdsl.data.tables.Table` objects of ``schema`` and its sources."""
    import pickle

    import numpy as np

    from segdsl.data.tables import Column, Table

    with open(path, "rb") as f:
        raw = pickle.load(f)

    def canonical(a):
        # Unpickled arrays carry new dtype instances, not numpy's built-in ones, and
        # some numpy fast paths (ufunc.at, 20× here) test the dtype by identity.
        return a.astype(np.dtype(a.dtype.str)) if a.dtype.kind != "O" else a

    def table(s, t):
        cols = {k: Column(canonical(v), canonical(ok)) for k, (v, ok) in t["columns"].items()}
        return Table(s, cols, t["n"])

    return table(schema, raw["entity"]), {k: table(schema.sources[k], t) for k, t in raw["sources"].items()}
