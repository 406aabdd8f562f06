"""Figure `spark`: the size of every example segment over 1,000,000 guests on Apache
Spark in local mode, against DuckDB on the same data, both measured in the same run.
Context, not a goal: on a 2-core machine Spark's per-query planning and scheduling is
what is measured, not what a cluster would do with more data.

The measurements run in a fresh interpreter (``python -m bench.spark_sizing '<json
args>'`` writes one JSON file), so the session start is a cold one (pyspark imported,
the JVM launched) and the JVM ends with it:

* Spark: ``segdsl.data.spark.session`` for ``spark://local[2]`` (the session segdsl
  starts: shuffle partitions per core, UTC), then ``segdsl.load_database(ws, dsn)``,
  `segdsl db load`'s path (CSV read, then every table written as Parquet into a
  warehouse under ``bench/results/spark/``, registered by a load record);
* DuckDB: ``segdsl.load_database(ws, "duckdb:...")`` of the same CSV folder into a
  database file beside it (default threads);
* per segment on each engine, what `segdsl size --dsn` runs: the ``count`` form that
  ``compile_rule`` compiles for the engine (the profile derived from the raw tables in
  a ``WITH "profile"`` CTE, the as-of pinned, parameters bound), through
  ``data.engines.fetch_count``.

Every segment's size must be the same on both engines (else exit 3, with the segment,
both sizes and the SQL); a query that fails is reported with its SQL and the error.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from statistics import median
from time import perf_counter
from time import perf_counter_ns as clock

from bench import RESULTS, ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Row
from bench.stats import ratio, us
from bench.workload import (
    AS_OF,
    hwm_mb,
    peak_rss_mb,
    reset_hwm,
    rss_mb,
    segments,
    workspace,
)

#: The local session the figure starts unless given a DSN: 2 cores, as
#: `segdsl --dsn spark://local[2]` starts it.
MASTER = "local[2]"
#: Where the DuckDB file and the default warehouse go (git-ignored; replaced by every run).
OUT = RESULTS / "spark"


def _log(msg: str) -> None:
    print(f"· spark: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the task


def measure(args: dict) -> dict:
    """Start Spark, load both engines, check and time every segment (see the module's
    docstring); the raw numbers, or ``{"error": ...}``."""
    import segdsl
    from segdsl import ir
    from segdsl.backends.sql import compile_rule
    from segdsl.data import spark
    from segdsl.data.engines import fetch_count
    from segdsl.data.loading import open_loaded

    data, out, rounds = Path(args["data"]), Path(args["out"]), args["rounds"]
    ws = workspace()
    schema, segs = ws.schema, segments(ws)
    duck_file = out / "duckdb.db"
    for p in (duck_file, duck_file.with_suffix(".db.wal")):
        p.unlink(missing_ok=True)
    if args.get("spark"):  # a cluster's: its warehouse is the user's, replaced by the load, never removed
        spark_dsn = args["spark"]
    else:
        shutil.rmtree(out / "warehouse", ignore_errors=True)
        spark_dsn = f"spark://{MASTER}?warehouse={out / 'warehouse'}"
    dsns = {"spark": spark_dsn, "duckdb": f"duckdb:{duck_file}"}
    address = spark.parse_dsn(spark_dsn)
    warehouse = address.warehouse

    _log(f"starting a Spark session ({address.where or 'active'}) in a fresh interpreter")
    t0 = perf_counter()
    session = spark.session(address)
    session_s = perf_counter() - t0
    conf = {k: _setting(session, k) for k in (
        "spark.sql.shuffle.partitions", "spark.driver.memory", "spark.sql.adaptive.enabled",
        "spark.sql.session.timeZone", "spark.sql.autoBroadcastJoinThreshold")}

    load_s, load_peak, load_from, counts = {}, {}, {}, {}
    for side in ("spark", "duckdb"):
        _log(f"segdsl.load_database into {side} ({dsns[side]})")
        gc.collect()
        reset_hwm()
        load_from[side] = rss_mb()
        t0 = perf_counter()
        loaded = segdsl.load_database(ws, dsns[side], data=data)
        load_s[side] = perf_counter() - t0
        load_peak[side] = hwm_mb()
        if not loaded.ok:
            return {"error": f"loading {side} failed: " + "; ".join(d.message for d in loaded.diagnostics)}
        counts[side] = dict(loaded.rows)
        gc.collect()
    if counts["spark"] != counts["duckdb"]:
        return {"error": f"the loads disagree on row counts: spark {counts['spark']}, duckdb {counts['duckdb']}"}

    # Each engine open as `segdsl size --dsn` opens it; the queries it would send.
    sqls, queries = {}, {}
    with open_loaded(dsns["spark"], schema) as sp, open_loaded(dsns["duckdb"], schema) as dk:
        engines = {"spark": sp, "duckdb": dk}
        for side, engine in engines.items():
            sqls[side], queries[side] = {}, {}
            total = compile_rule(ir.Const(True), schema, target=engine.dialect, form="count", pretty=False)
            queries[side]["(all guests)"] = (total.sql, total.params)
            for s in segs:
                compiled = compile_rule(s.rule, schema, target=engine.dialect, form="count", as_of=AS_OF,
                                        params=engine.binds_named_params, pretty=False)
                if not compiled.ok:
                    return {"error": f"`{s.name}` does not compile for {side}: {compiled.diagnostics[0].message}"}
                queries[side][s.name] = (compiled.sql, compiled.params)
            sqls[side] = {k: q[0] for k, q in queries[side].items()}

        def run(side: str, name: str) -> int:
            sql, params = queries[side][name]
            try:
                return fetch_count(engines[side], sql, params)
            except Exception as exc:  # noqa: BLE001 - reported with the query, not papered over
                raise QueryFailed(side, name, sql, params, exc) from None

        names = list(queries["spark"])
        _log(f"checking that both engines give every size (also the warm-up): {len(names)} queries each")
        first_s, sizes = {}, {}
        try:
            for side in ("spark", "duckdb"):
                t0 = perf_counter()
                sizes[side] = {k: run(side, k) for k in names}
                first_s[side] = perf_counter() - t0
        except QueryFailed as exc:
            return {"error": str(exc)}
        bad = {k: (sizes["spark"][k], sizes["duckdb"][k]) for k in names if sizes["spark"][k] != sizes["duckdb"][k]}
        if bad:
            lines = [f"`{k}`: spark {a:,}, duckdb {b:,}\n  spark SQL: {sqls['spark'][k]}\n  duckdb SQL: "
                     f"{sqls['duckdb'][k]}" for k, (a, b) in bad.items()]
            return {"error": f"Spark and DuckDB disagree on {len(bad)} size(s):\n" + "\n".join(lines)}

        _log(f"{rounds} rounds of {len(names)} queries on each engine, the one that goes first alternating")
        load_before = os.getloadavg()[0]
        times = {side: {k: [] for k in names} for side in engines}
        try:
            for r in range(rounds):
                gc.collect()
                for side in (("spark", "duckdb") if r % 2 == 0 else ("duckdb", "spark")):
                    for k in names:
                        t0 = clock()
                        got = run(side, k)
                        times[side][k].append(clock() - t0)
                        if got != sizes[side][k]:
                            return {"error": f"{side} sized `{k}` {got:,} in round {r + 1}, {sizes[side][k]:,} "
                                             f"before\n  SQL: {sqls[side][k]}"}
        except QueryFailed as exc:
            return {"error": str(exc)}
        load_after = os.getloadavg()[0]
        duck_threads = dk.execute("SELECT current_setting('threads')")[0][0]

    try:  # the driver JVM pyspark launched (local mode: driver and executors in one)
        jvm_peak = hwm_mb(session.sparkContext._gateway.proc.pid)
    except Exception:  # noqa: BLE001 - Spark Connect: no JVM of this process to read
        jvm_peak = None
    import duckdb
    import pyspark

    return {
        "session_s": session_s, "load_s": load_s, "load_peak_mb": load_peak, "load_from_mb": load_from,
        "first_pass_s": first_s, "rows": counts["spark"],
        "sizes": sizes["spark"], "times_ns": times, "sql": sqls, "conf": conf, "master": address.where,
        "versions": {"spark": session.version, "pyspark": pyspark.__version__, "duckdb": duckdb.__version__},
        "duckdb_threads": duck_threads, "load_avg": [load_before, load_after],
        "peak_python_mb": peak_rss_mb(), "peak_jvm_mb": jvm_peak,
        "warehouse_mb": _load_mb(warehouse, schema.table), "duckdb_file_mb": _size_mb(duck_file),
    }


def _setting(session, key: str) -> str | None:
    """A setting's value in the session, Spark's default where none was set."""
    try:
        return session.conf.get(key)
    except Exception:  # noqa: BLE001 - a key Spark has no default for
        return None


class QueryFailed(Exception):
    def __init__(self, side, name, sql, params, exc):
        text = str(exc).strip()
        super().__init__(f"{side} failed on `{name}`: {text[:3000]}\n  SQL: {sql}\n  parameters: {params}")


def _load_mb(warehouse: Path, table: str) -> float:
    """The size of the Parquet files of the project's current load in ``warehouse``."""
    from urllib.parse import unquote, urlparse

    from segdsl.data.spark import read_records

    record = read_records(warehouse).get(table, {})
    return sum(_size_mb(Path(unquote(urlparse(uri).path))) for uri in record.get("tables", {}).values())


def _size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ------------------------------------------------------------------ the figure


def secs(s: float) -> str:
    return f"{s:,.1f} s" if s < 100 else f"{s:,.0f} s"


def run(quick: bool = False, log=print, dsn: str | None = None) -> Figure:
    """The figure; ``dsn``: the Spark to run on (default a local session, ``local[2]``,
    with a warehouse under ``bench/results/spark/``)."""
    scale = bigdata.QUICK_SCALE if quick else bigdata.SCALE
    data, _ = bigdata.ensure(scale, log=log)
    out = OUT / f"{scale}"
    out.mkdir(parents=True, exist_ok=True)
    rounds = 1 if quick else 5
    log("spark: the measurements run in a fresh interpreter (Spark's JVM ends with it)")
    result = out / "result.json"
    result.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "bench.spark_sizing",
                           json.dumps({"data": str(data), "out": str(out), "rounds": rounds, "result": str(result),
                                       "spark": dsn})],
                          cwd=ROOT, stdout=sys.stderr, check=False)  # the report stays on stdout
    if proc.returncode != 0 or not result.exists():
        raise BenchError(f"the Spark task exited {proc.returncode} (its errors are above)")
    res = json.loads(result.read_text())
    if "error" in res:
        raise BenchError(res["error"])

    names = list(res["sizes"])
    segs = [k for k in names if k != "(all guests)"]
    per = {side: {k: median(v) for k, v in t.items()} for side, t in res["times_ns"].items()}
    totals = {side: [sum(t[k][r] for k in segs) for r in range(rounds)] for side, t in res["times_ns"].items()}
    med = {side: median(v) for side, v in totals.items()}
    n = res["rows"][workspace().schema.table]
    fig = Figure(
        name="spark",
        title=(f"size all {len(segs)} example segments over {n:,} guests on Spark {res['versions']['spark']} "
               f"({res['master']}) vs DuckDB, median of {rounds} rounds; context, no goal"),
        baseline=(f"DuckDB {res['versions']['duckdb']} ({res['duckdb_threads']} threads) running the COUNT(*) "
                  "segdsl compiles for it over the same data, loaded the same way (segdsl.load_database)"),
    )
    r = ratio(med["spark"], med["duckdb"])
    fig.rows = [Row("all segments (Spark vs DuckDB)", us(med["spark"]), us(med["duckdb"]), f"{r:.2f}×")]
    for k in sorted(segs, key=lambda k: -per["spark"][k]):
        fig.rows.append(Row(f"  {k} ({res['sizes'][k]:,})", us(per["spark"][k]), us(per["duckdb"][k]),
                            f"{ratio(per['spark'][k], per['duckdb'][k]):.2f}×"))
    fig.rows += [
        Row("  a trivial query: COUNT(*) of the guests", us(per["spark"]["(all guests)"]),
            us(per["duckdb"]["(all guests)"]),
            f"{ratio(per['spark']['(all guests)'], per['duckdb']['(all guests)']):.2f}×"),
        Row("one-off: session start (JVM launch)", secs(res["session_s"]), "—"),
        Row("one-off: segdsl.load_database (CSV read + write)", secs(res["load_s"]["spark"]),
            secs(res["load_s"]["duckdb"]), f"{ratio(res['load_s']['spark'], res['load_s']['duckdb']):.2f}×"),
        Row("one-off: first pass of every query (check + warm-up)", secs(res["first_pass_s"]["spark"]),
            secs(res["first_pass_s"]["duckdb"]),
            f"{ratio(res['first_pass_s']['spark'], res['first_pass_s']['duckdb']):.2f}×"),
    ]
    conf = res["conf"]
    fig.notes = [
        "per-segment rows (slowest on Spark first) are medians; sizes in parentheses; both engines gave every size",
        (f"Spark: shuffle partitions {conf['spark.sql.shuffle.partitions']}, driver memory "
         f"{conf['spark.driver.memory']}, adaptive execution {conf['spark.sql.adaptive.enabled']}; Parquet "
         f"warehouse {res['warehouse_mb']:,.0f} MiB, DuckDB file {res['duckdb_file_mb']:,.0f} MiB "
         f"({sum(res['rows'].values()):,} rows in {len(res['rows'])} tables)"),
        ("peak RSS of the Python process while loading (from its RSS before): Spark "
         f"{res['load_peak_mb']['spark']:,.0f} MiB (from {res['load_from_mb']['spark']:,.0f}), DuckDB "
         f"{res['load_peak_mb']['duckdb']:,.0f} MiB (from {res['load_from_mb']['duckdb']:,.0f}); over the whole "
         f"task {res['peak_python_mb']:,.0f} MiB"
         + (f"; Spark's JVM {res['peak_jvm_mb']:,.0f} MiB" if res["peak_jvm_mb"] else "")),
        (f"1-min load average before / after the rounds: {res['load_avg'][0]:.2f} / {res['load_avg'][1]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    fig.data = {
        "rows": res["rows"], "rounds": rounds, "sizes": res["sizes"], "master": res["master"],
        "total_ms": {side: {"median": v / 1e6, "samples": [x / 1e6 for x in totals[side]]} for side, v in med.items()},
        "per_segment_ms": {side: {k: v / 1e6 for k, v in d.items()} for side, d in per.items()},
        "session_start_s": res["session_s"], "load_s": res["load_s"], "load_peak_mb": res["load_peak_mb"],
        "load_from_mb": res["load_from_mb"], "first_pass_s": res["first_pass_s"],
        "spark_conf": conf, "versions": res["versions"], "duckdb_threads": res["duckdb_threads"],
        "peak_python_mb": res["peak_python_mb"], "peak_jvm_mb": res["peak_jvm_mb"],
        "warehouse_mb": res["warehouse_mb"], "duckdb_file_mb": res["duckdb_file_mb"], "sql": res["sql"],
    }
    return fig


if __name__ == "__main__":
    # python -m bench.spark_sizing '<json args>': the numbers into args["result"] (the
    # JVM shares this process's stdout), progress on stderr.
    from segdsl.data.connection import EngineError

    task = json.loads(sys.argv[1])
    try:
        result = measure(task)
    except EngineError as exc:  # no pyspark or Java, a master that does not answer, a load that failed
        result = {"error": str(exc)}
    Path(task["result"]).write_text(json.dumps(result))
