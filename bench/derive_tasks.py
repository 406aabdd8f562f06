"""The `derive` figure's measurements, each in a fresh interpreter so its peak memory is
its own: ``python -m bench.derive_tasks memory|duckdb|postgres '<json args>'`` prints one
JSON line of timings, peaks (MiB) and profile checksums.

* ``memory``: ``load_table`` / ``load_source`` (CSV → typed columns), then
  ``build_profile`` (the numpy group-bys) for the traits the example segments read.
  The loaded tables are pickled to ``handoff`` for the tasks that follow, so the
  1M-row CSVs are parsed once per run.
* ``duckdb``: the same CSVs into an in-memory DuckDB (its own reader; untimed), then the
  profile SQL segdsl compiles for DuckDB, timed alone.
* ``postgres``: the tables from ``handoff`` loaded by ``loading.load_project`` (COPY,
  streamed from the tables a batch of rows at a time) into a private schema, which is
  dropped afterwards; then the profile SQL segdsl compiles for Postgres.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from time import perf_counter

from bench.workload import (
    AS_OF,
    checksum_sql,
    checksums_from_row,
    checksums_from_table,
    dump_tables,
    hwm_mb,
    load_tables,
    peak_rss_mb,
    private_schema,
    profile_count_sql,
    reset_hwm,
    rss_mb,
    sources_needed,
    traits,
    workspace,
)


def memory(args: dict) -> dict:
    from segdsl.data.tables import load_table
    from segdsl.backends.memory.profile import build_profile, load_source

    ws = workspace()
    schema, fields = ws.schema, traits(ws)
    data = Path(args["data"])
    base = rss_mb()
    t0 = perf_counter()
    entity = load_table(schema, data)
    load_s = {schema.table: perf_counter() - t0}
    sources = {}
    for name in sources_needed(fields):
        t0 = perf_counter()
        sources[name] = load_source(schema.sources[name], data)
        load_s[schema.sources[name].table] = perf_counter() - t0
    gc.collect()
    loaded_rss = rss_mb()
    load_peak = hwm_mb()
    reset_hwm()
    times = []
    table = None
    for _ in range(args["rounds"]):
        table = None
        gc.collect()
        t0 = perf_counter()
        table = build_profile(schema, entity, sources, fields, AS_OF)
        times.append(perf_counter() - t0)
    derive_peak = hwm_mb()
    out = {
        "load_s": load_s,
        "derive_s": times,
        "rows": {schema.table: entity.n_rows, **{schema.sources[n].table: t.n_rows for n, t in sources.items()}},
        "traits": [f.name for f in fields],
        "rss_start_mb": base,
        "rss_loaded_mb": loaded_rss,
        "peak_load_mb": load_peak,
        "peak_derive_mb": derive_peak,
        "peak_task_mb": max(load_peak, derive_peak, peak_rss_mb()),
        "checksums": checksums_from_table(table, fields),
    }
    if args.get("handoff"):
        dump_tables(args["handoff"], entity, sources)
    return out


# DuckDB's type for each segdsl kind (decimals get their precision and scale).
_DUCK = {"int": "BIGINT", "float": "DOUBLE", "text": "VARCHAR", "enum": "VARCHAR", "bool": "BOOLEAN",
         "date": "DATE", "timestamp": "TIMESTAMPTZ", "tags": "VARCHAR[]"}


def _duck_select(table_schema) -> str:
    from segdsl.schema.model import Kind

    cols = []
    for f in table_schema.stored_fields():
        c = '"' + f.column.replace('"', '""') + '"'
        if f.kind is Kind.DECIMAL:
            cols.append(f"CAST({c} AS DECIMAL({f.type.precision}, {f.type.scale})) AS {c}")
        elif f.kind is Kind.TAGS:
            cols.append(f"CAST(json({c}) AS VARCHAR[]) AS {c}")  # the CSV holds a JSON array
        else:
            cols.append(f"CAST({c} AS {_DUCK[f.kind.value]}) AS {c}")
    return ", ".join(cols)


def duckdb(args: dict) -> dict:
    import duckdb as ddb

    ws = workspace()
    schema, fields = ws.schema, traits(ws)
    data = Path(args["data"])
    con = ddb.connect()
    if args.get("threads"):
        con.execute(f"SET threads = {int(args['threads'])}")
    t0 = perf_counter()
    tables = [schema] + [schema.sources[n] for n in sources_needed(fields)]
    rows = {}
    for ts in tables:
        path = str(data / f"{ts.table}.csv").replace("'", "''")
        # Every cell as text, then cast: only an empty unquoted field is NULL ("" stays
        # the empty string), as in segdsl's CSV convention.
        con.execute(
            f'CREATE TABLE "{ts.table}" AS SELECT {_duck_select(ts)} FROM read_csv(\'{path}\', header = true, '
            "all_varchar = true, allow_quoted_nulls = false, quote = '\"', escape = '\"')"
        )
        rows[ts.table] = con.execute(f'SELECT COUNT(*) FROM "{ts.table}"').fetchone()[0]
    load_s = perf_counter() - t0
    load_peak = hwm_mb()
    loaded_rss = rss_mb()
    sql = profile_count_sql(schema, fields, "duckdb")
    con.execute(sql).fetchall()  # warm-up: first-query set-up is not the aggregation
    reset_hwm()
    times = []
    for _ in range(args["rounds"]):
        t0 = perf_counter()
        con.execute(sql).fetchall()
        times.append(perf_counter() - t0)
    query_peak = hwm_mb()
    checksums = checksums_from_row(fields, con.execute(checksum_sql(schema, fields, "duckdb")).fetchone())
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    return {
        "load_s": load_s, "query_s": times, "rows": rows, "threads": threads, "sql": sql,
        "peak_load_mb": load_peak, "rss_loaded_mb": loaded_rss, "peak_query_mb": query_peak,
        "peak_task_mb": max(load_peak, query_peak, peak_rss_mb()), "checksums": checksums,
        "version": ddb.__version__,
    }


def postgres(args: dict) -> dict:
    ws = workspace()
    with private_schema(args["dsn"], args["schema"]) as engine:
        return _postgres_in(engine, ws.schema, traits(ws), args)


def _postgres_in(engine, schema, fields, args: dict) -> dict:
    from segdsl.data.loading import load_project

    entity, sources = load_tables(args["handoff"], schema)
    gc.collect()
    reset_hwm()
    t0 = perf_counter()
    # The loaded tables handed to `loading.load_project`, which streams each one into COPY
    # a batch of rows at a time (sources no segment reads are left empty, as the rules
    # never scan them).
    tables = {schema.table: entity}
    for name, src in sources.items():
        tables[schema.sources[name].table] = src
    counts = load_project(engine, schema, tables)
    load_s = perf_counter() - t0
    del tables
    client_peak = hwm_mb()
    t0 = perf_counter()
    # Only the tables just loaded: a database-wide ANALYZE can deadlock with other
    # sessions analysing their own schemas on the same server.
    engine.execute("ANALYZE " + ", ".join('"' + t.replace('"', '""') + '"' for t in counts))
    engine.commit()
    analyze_s = perf_counter() - t0
    sql = profile_count_sql(schema, fields, "postgres")
    backend = engine.execute("SELECT pg_backend_pid()")[0][0]
    settings = dict(engine.execute(
        "SELECT name, setting FROM pg_settings WHERE name IN ('work_mem', 'shared_buffers', "
        "'max_parallel_workers_per_gather', 'jit', 'server_version')"))
    engine.execute(sql)  # warm-up: the tables were just written; read them once
    backend_reset = reset_hwm(backend)
    times = []
    for _ in range(args["rounds"]):
        t0 = perf_counter()
        engine.execute(sql)
        times.append(perf_counter() - t0)
    try:
        backend_peak = hwm_mb(backend) if backend_reset else None
    except OSError:
        backend_peak = None
    checksums = checksums_from_row(fields, engine.execute(checksum_sql(schema, fields, "postgres"))[0])
    return {
        "load_s": load_s, "analyze_s": analyze_s,
        "query_s": times, "rows": counts, "sql": sql, "settings": settings,
        "peak_client_load_mb": client_peak, "peak_backend_query_mb": backend_peak,
        "peak_task_mb": max(client_peak, peak_rss_mb()),
        "checksums": checksums,
    }


TASKS = {"memory": memory, "duckdb": duckdb, "postgres": postgres}

if __name__ == "__main__":
    result = TASKS[sys.argv[1]](json.loads(sys.argv[2]))
    print(json.dumps(result))
