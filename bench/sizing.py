"""Figure `sizing`: the size of every example segment over 1,000,000 in-memory profiles.

The profile :class:`~segdsl.data.tables.Table` is built once, untimed, by ``build_profile``
from tables loaded by ``load_table`` (the `derive` figure's hand-off when it ran first
in the same run, else its ``memory`` task is run for them). Ours, per segment:
``int(np.count_nonzero(segdsl.backends.memory.columnar.evaluate(rule, table, as_of)))``, counted
as the numpy baseline counts its masks. Baselines on the
same data, in the same run, interleaved with ours round by round:

* numpy: masks written by hand for each segment (``bench.sizing_baselines``) on the
  encoding the evaluator reads (the table's columns, enum codes, tag bitsets), NULLs
  handled;
* DuckDB: ``COUNT(*)`` SQL compiled by segdsl for DuckDB over a table holding the
  same profile columns (created from Arrow in an in-memory database); the same data
  scanned straight from the registered Arrow table is a context row;
* polars: hand-written filters on a DataFrame of the same Arrow data.

Every baseline must give every segment exactly segdsl's size, or the figure fails.
Goals: ours ≤ 2.0× numpy; ours < DuckDB; ours < polars (totals over all segments).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from statistics import median
from time import perf_counter_ns as clock

from bench import bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio, us
from bench.workload import AS_OF, load_tables, segments, traits, workspace

GOAL_NUMPY = 2.0
GOAL_DUCKDB = 1.0  # strictly below
GOAL_POLARS = 1.0  # strictly below


def load_profile_table(quick: bool, workdir: Path, log):
    handoff = Path(workdir) / "handoff.pkl"
    if not handoff.exists():
        from bench.derive import run_task

        data, _ = bigdata.ensure(bigdata.QUICK_SCALE if quick else bigdata.SCALE, log=log)
        log("sizing: loading the tables (untimed)")
        run_task("memory", {"data": str(data), "rounds": 1, "handoff": str(handoff)}, log)
    log("sizing: deriving the profile table from the hand-off (untimed)")
    from segdsl.backends.memory.profile import build_profile

    ws = workspace()
    entity, sources = load_tables(handoff, ws.schema)
    return build_profile(ws.schema, entity, sources, traits(ws), AS_OF)


def to_arrow(table):
    """The profile's columns as an Arrow table, NULLs from the ``valid`` masks;
    decimals become decimal128 built from the same scaled integers."""
    import numpy as np
    import pyarrow as pa

    from segdsl.schema.model import Kind

    arrays, names = [], []
    for f in table.schema.fields.values():
        col = table.columns.get(f.column)
        if col is None:  # days_since fields and traits no segment reads
            continue
        mask = ~col.valid
        v = col.values
        match f.kind:
            case Kind.DECIMAL:
                words = np.empty((len(v), 2), dtype=np.int64)  # little-endian 128-bit
                words[:, 0], words[:, 1] = v, v >> 63
                validity = pa.array(col.valid).buffers()[1]
                arr = pa.Array.from_buffers(pa.decimal128(f.type.precision or 38, f.type.scale or 0), len(v),
                                            [validity, pa.py_buffer(words.tobytes())])
            case Kind.TIMESTAMP:
                arr = pa.array(v, type=pa.timestamp("us", tz="UTC"), mask=mask)
            case Kind.DATE:
                arr = pa.array(v.astype(np.int32), type=pa.date32(), mask=mask)
            case Kind.TAGS:
                arr = pa.array([sorted(s) if ok else None for s, ok in zip(v, col.valid)], type=pa.list_(pa.string()))
            case Kind.TEXT | Kind.ENUM:
                arr = pa.array(v, type=pa.string(), mask=mask)
            case Kind.BOOL:
                arr = pa.array(v, type=pa.bool_(), mask=mask)
            case Kind.FLOAT:
                arr = pa.array(v, type=pa.float64(), mask=mask)
            case _:
                arr = pa.array(v, type=pa.int64(), mask=mask)
        arrays.append(arr)
        names.append(f.column)
    return pa.Table.from_arrays(arrays, names=names)


def duckdb_sizers(table, segs, arrow, log) -> tuple[dict, dict, dict]:
    """COUNT(*) per segment, compiled by segdsl for DuckDB against the profile schema
    (every trait a plain column), on a native table and on the registered Arrow data."""
    import duckdb

    from segdsl import ir
    from segdsl.check.checker import check_modules
    from segdsl.backends.sql import compile_rule

    ws = workspace()
    checked = check_modules(ws.modules.values(), table.schema)
    if not checked.ok:
        raise BenchError("segments do not check against the profile schema: "
                         + "; ".join(d.message for d in checked.diagnostics if d.is_error))
    sqls = {}
    for s in segs:
        compiled = compile_rule(checked.segments[s.name].rule, table.schema, target="duckdb", form="count",
                                as_of=AS_OF, pretty=False)
        if not compiled.ok or ir.derived_fields(checked.segments[s.name].rule):
            raise BenchError(f"cannot compile `{s.name}` over the stored profile for DuckDB")
        sqls[s.name] = compiled.sql
    name = table.schema.table
    native = duckdb.connect()
    native.register("profile_arrow", arrow)
    native.execute(f'CREATE TABLE "{name}" AS SELECT * FROM profile_arrow')
    native.unregister("profile_arrow")
    scan = duckdb.connect()
    scan.register(name, arrow)

    def sizer(con, sql):
        return lambda: int(con.execute(sql).fetchone()[0])

    return ({k: sizer(native, q) for k, q in sqls.items()}, {k: sizer(scan, q) for k, q in sqls.items()},
            {"sql": sqls, "threads": native.execute("SELECT current_setting('threads')").fetchone()[0],
             "version": duckdb.__version__})


def run(quick: bool = False, log=print, workdir: Path | None = None) -> Figure:
    if workdir is None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return run(quick, log, Path(tmp))
    import numpy as np

    from segdsl.backends.memory.columnar import evaluate

    rounds = 1 if quick else 5
    ws = workspace()
    segs = segments(ws)
    table = load_profile_table(quick, workdir, log)
    n = table.n_rows

    def ours_sizer(rule):
        return lambda: int(np.count_nonzero(evaluate(rule, table, AS_OF)))

    log("sizing: Arrow, DuckDB and polars copies of the profile (untimed)")
    arrow = to_arrow(table)
    sides: dict[str, dict] = {
        "segdsl": {s.name: ours_sizer(s.rule) for s in segs},
    }
    from bench.sizing_baselines import numpy_sizers, polars_sizers

    sides["numpy"] = numpy_sizers(table)
    duck, duck_scan, duck_info = duckdb_sizers(table, segs, arrow, log)
    sides["duckdb"] = duck
    sides["duckdb_arrow"] = duck_scan
    try:
        import polars as pl

        df = pl.from_arrow(arrow)
        sides["polars"] = polars_sizers(df)
        polars_version = pl.__version__
    except ImportError:
        polars_version = None
        log("sizing: polars is not installed; its baseline is skipped (pip install polars)")

    log("sizing: checking that every side gives segdsl's sizes (also the warm-up)")
    sizes = {side: {k: f() for k, f in fns.items()} for side, fns in sides.items()}
    for side, got in sizes.items():
        bad = {k: (sizes["segdsl"][k], v) for k, v in got.items() if v != sizes["segdsl"][k]}
        if bad:
            raise BenchError(f"{side} disagrees with segdsl on {len(bad)} segment(s) (segdsl, {side}): {bad}")

    log(f"sizing: {rounds} rounds of {len(segs)} segments on each side, interleaved")
    load_before = os.getloadavg()[0]
    order = list(sides)
    times = {side: {s.name: [] for s in segs} for side in sides}
    totals = {side: [] for side in sides}
    for r in range(rounds):
        gc.collect()
        for side in order[r % len(order):] + order[: r % len(order)]:
            total = 0
            for name, f in sides[side].items():
                t0 = clock()
                f()
                took = clock() - t0
                times[side][name].append(took)
                total += took
            totals[side].append(total)

    med = {side: median(v) for side, v in totals.items()}
    ours = med["segdsl"]
    r_np = ratio(ours, med["numpy"])
    r_dk = ratio(ours, med["duckdb"])
    met_np, met_dk = r_np <= GOAL_NUMPY, r_dk < GOAL_DUCKDB
    fig = Figure(
        name="sizing",
        title=f"size all {len(segs)} example segments over {n:,} in-memory profiles, median of {rounds} rounds",
        baseline=("hand-written numpy masks (NULLs handled) on the same encoding (columns, enum codes, tag "
                  "bitsets); DuckDB "
                  f"{duck_info['version']} ({duck_info['threads']} threads) COUNT(*) compiled by segdsl over an "
                  "in-memory table of the same columns; hand-written polars "
                  + (f"{polars_version} " if polars_version else "") + "filters on the same Arrow data"),
    )
    fig.rows = [
        Row("all segments vs numpy", us(ours), us(med["numpy"]), f"{r_np:.2f}×", f"≤ {GOAL_NUMPY:.1f}×", met_np),
        Row("all segments vs DuckDB", us(ours), us(med["duckdb"]), f"{r_dk:.2f}×", "< 1.0×", met_dk),
    ]
    fig.goals = [
        Goal("sizing_vs_numpy", round(r_np, 3), GOAL_NUMPY, "ratio", met_np,
             f"segdsl {ours / 1e6:.1f} ms vs numpy {med['numpy'] / 1e6:.1f} ms"),
        Goal("sizing_vs_duckdb", round(r_dk, 3), GOAL_DUCKDB, "ratio (strictly below)", met_dk,
             f"segdsl {ours / 1e6:.1f} ms vs DuckDB {med['duckdb'] / 1e6:.1f} ms"),
    ]
    if "polars" in sides:
        r_pl = ratio(ours, med["polars"])
        met_pl = r_pl < GOAL_POLARS
        fig.rows.append(Row("all segments vs polars", us(ours), us(med["polars"]), f"{r_pl:.2f}×", "< 1.0×", met_pl))
        fig.goals.append(Goal("sizing_vs_polars", round(r_pl, 3), GOAL_POLARS, "ratio (strictly below)", met_pl,
                              f"segdsl {ours / 1e6:.1f} ms vs polars {med['polars'] / 1e6:.1f} ms"))
    fig.rows.append(Row("  … vs DuckDB scanning the Arrow table", us(ours), us(med["duckdb_arrow"]),
                        f"{ratio(ours, med['duckdb_arrow']):.2f}×"))
    per = {side: {k: median(v) for k, v in t.items()} for side, t in times.items()}
    for s in sorted(segs, key=lambda s: -per["segdsl"][s.name]):
        b = per["numpy"][s.name]
        fig.rows.append(Row(f"  {s.name} ({sizes['segdsl'][s.name]:,})", us(per["segdsl"][s.name]), us(b),
                            f"{ratio(per['segdsl'][s.name], b):.2f}×"))
    fig.notes = [
        "per-segment rows (slowest first) compare with numpy; sizes in parentheses; every side gave identical sizes",
        (f"1-min load average before / after the rounds: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    if "polars" not in sides:
        fig.notes.append("polars baseline skipped: polars is not installed (pip install polars)")
    fig.data = {
        "rows": n, "rounds": rounds, "sizes": sizes["segdsl"],
        "total_ms": {side: {"median": v / 1e6, "samples": [x / 1e6 for x in totals[side]]} for side, v in med.items()},
        "per_segment_ms": {side: {k: v / 1e6 for k, v in d.items()} for side, d in per.items()},
        "duckdb_sql": duck_info["sql"], "duckdb_threads": duck_info["threads"], "duckdb_version": duck_info["version"],
        "polars_version": polars_version,
        "goals": {"numpy": GOAL_NUMPY, "duckdb": GOAL_DUCKDB, "polars": GOAL_POLARS},
    }
    return fig
