"""Figure `columnar`: the count of members of one rule over 1,000,000 in-memory profiles.

Two rules of the golf example (``examples/golf/segments.seg``), over the profile of
1,000,000 generated members (``segdsl seed generate --domain golf`` and ``segdsl model
score``, see ``bench.bigdata``): ``lapsing_players``, two conditions (an enum and a day
comparison on a trait), and ``active_golfers_low_handicap``, the seed's six-condition
"Active Golfers - Low Handicap" (two enums, a decimal trait, a count, a model score and
a consent). The profile is derived once with ``build_profile`` and cached next to the
data, untimed.

Ours: ``int(np.count_nonzero(segdsl.backends.memory.columnar.evaluate(rule, table, as_of)))``
(counted as the numpy baseline counts its masks). Baselines on
the same data, in the same run, interleaved with ours:

* numpy: hand-written masks on the same encoding (the table's columns and ``valid``
  masks, enums as the evaluator's int8 codes), NULLs handled;
* DuckDB: the ``COUNT(*)`` query segdsl compiles for DuckDB over an in-memory table of
  the same columns;
* polars: hand-written filters on a DataFrame of the same Arrow data (skipped with a
  note when polars is not installed).

Every side must count exactly segdsl's members. Goals, per rule: ours ≤ 1.5× numpy;
ours < DuckDB; ours < polars.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import pickle
from pathlib import Path
from statistics import median
from time import perf_counter_ns as clock

from bench import ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio, us

DOMAIN = "golf"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SEGMENT_FILES = ("examples/golf/segments.seg", "examples/golf/system.seg")
RULES = ("lapsing_players", "active_golfers_low_handicap")
GOAL_NUMPY = 1.5
GOAL_DUCKDB = 1.0  # strictly below
GOAL_POLARS = 1.0  # strictly below
US_PER_DAY = 86_400_000_000


def workspace():
    from segdsl.project.workspace import load_workspace

    ws = load_workspace([ROOT / p for p in SEGMENT_FILES])
    if not ws.ok or ws.schema is None:
        raise BenchError("examples/golf does not check: " + "; ".join(d.message for d in ws.diagnostics))
    return ws


def rules(ws) -> dict:
    segs = {s.name: s for path in ws.requested for s in ws.segments_in(path)}
    missing = [r for r in RULES if r not in segs]
    if missing:
        raise BenchError(f"examples/golf has no segment {', '.join(missing)}")
    return {r: segs[r].rule for r in RULES}


def load_profile(scale: int, log):
    """The profile of the rules' traits over the generated members: derived once with
    ``load_table``/``load_source`` and ``build_profile``, then read from a cache file in
    the data directory (keyed by the traits' definitions and the as-of)."""
    import numpy as np

    from segdsl.data.tables import Column, Table, load_table
    from segdsl.backends.memory.profile import build_profile, load_source, profile_fields, source_columns

    ws = workspace()
    fields = profile_fields(rules(ws).values())
    schema = ws.schema
    data, _ = bigdata.ensure(scale, log=log, domain=DOMAIN)
    needed = sorted({f.derive.source for f in fields})
    # The profile's schema (traits as plain columns), from the public API on no rows.
    empty = {s: Table.from_records(schema.sources[s], []) for s in needed}
    profile_schema = build_profile(schema, Table.from_records(schema, []), empty, fields, AS_OF).schema
    key = hashlib.sha256(repr(([(f.name, f.derive_text) for f in fields], AS_OF.isoformat())).encode()).hexdigest()
    cache = data / f"profile-{key[:12]}.pkl"
    if cache.exists():
        log(f"columnar: reading the cached profile {cache.name} (untimed)")
        with cache.open("rb") as f:
            raw = pickle.load(f)
        cols = {k: Column(v.astype(np.dtype(v.dtype.str)) if v.dtype.kind != "O" else v, ok.astype(bool))
                for k, (v, ok) in raw["columns"].items()}
        return Table(profile_schema, cols, raw["n"])
    log(f"columnar: loading {schema.table} and {', '.join(needed)}, deriving {len(fields)} traits (once, untimed)")
    entity = load_table(schema, data)
    sources = {s: load_source(schema.sources[s], data, columns=cols) for s, cols in source_columns(fields).items()}
    table = build_profile(schema, entity, sources, fields, AS_OF)
    tmp = cache.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"n": table.n_rows, "columns": {k: (c.values, c.valid) for k, c in table.columns.items()}},
                    f, protocol=5)
    tmp.rename(cache)
    return table


# ------------------------------------------------------------------ baselines


def numpy_counters(table) -> dict:
    """Hand-written masks on the evaluator's encoding: ``days_since_tee_time >= 60`` is
    ``date(last_tee_time_at) <= as_of - 60``, i.e. before UTC midnight of ``as_of - 59``."""
    import numpy as np

    from segdsl.backends.memory.columnar import enum_codes

    c, fields = table.columns, table.schema.fields
    status = enum_codes(fields["membership_status"], c["membership_status"])  # -1 where NULL
    tier = enum_codes(fields["membership_tier"], c["membership_tier"])
    active = np.int8(fields["membership_status"].type.values.index("ACTIVE"))
    tiers = fields["membership_tier"].type.values
    gold, platinum = np.int8(tiers.index("Gold")), np.int8(tiers.index("Platinum"))
    scale = 10 ** (fields["handicap"].type.scale or 0)
    last, last_ok = c["last_tee_time_at"].values, c["last_tee_time_at"].valid
    hcp, hcp_ok = c["handicap"].values, c["handicap"].valid
    bookings = c["booking_count_30d"].values  # a count: never NULL
    engage, engage_ok = c["engagement_score"].values, c["engagement_score"].valid
    opt, opt_ok = c["email_opt_in"].values, c["email_opt_in"].valid
    day = AS_OF.astimezone(dt.UTC).date() - dt.timedelta(days=59)
    before = np.int64((day - dt.date(1970, 1, 1)).days * US_PER_DAY)

    def lapsing():
        m = status == active
        m &= last_ok
        m &= last < before
        return m

    def low_handicap():
        m = status == active
        m &= (tier == gold) | (tier == platinum)
        m &= hcp_ok
        m &= hcp < 15 * scale
        m &= bookings >= 2
        m &= engage_ok
        m &= engage >= 50
        m &= opt_ok
        m &= opt
        return m

    masks = {"lapsing_players": lapsing, "active_golfers_low_handicap": low_handicap}
    return {k: (lambda m=m: int(np.count_nonzero(m()))) for k, m in masks.items()}


def polars_counters(df) -> dict:
    import polars as pl

    col = pl.col
    day = AS_OF.astimezone(dt.UTC).date() - dt.timedelta(days=59)
    before = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    active = col("membership_status") == "ACTIVE"
    exprs = {
        "lapsing_players": active & (col("last_tee_time_at") < before),
        "active_golfers_low_handicap": active & col("membership_tier").is_in(["Gold", "Platinum"])
        & (col("handicap") < 15) & (col("booking_count_30d") >= 2) & (col("engagement_score") >= 50)
        & (col("email_opt_in") == True),  # noqa: E712  (a polars expression, as written in the rule)
    }
    return {k: (lambda e=e: int(df.select(e.sum()).item() or 0)) for k, e in exprs.items()}


def duckdb_counters(table, arrow) -> tuple[dict, dict]:
    import duckdb

    from segdsl import ir
    from segdsl.check.checker import check_modules
    from segdsl.backends.sql import compile_rule

    ws = workspace()
    checked = check_modules(ws.modules.values(), table.schema)
    if not checked.ok:
        raise BenchError("the golf segments do not check against the profile schema: "
                         + "; ".join(d.message for d in checked.diagnostics if d.is_error))
    sqls = {}
    for name in RULES:
        rule = checked.segments[name].rule
        compiled = compile_rule(rule, table.schema, target="duckdb", form="count", as_of=AS_OF, pretty=False)
        if not compiled.ok or ir.derived_fields(rule):
            raise BenchError(f"cannot compile `{name}` over the stored profile for DuckDB")
        sqls[name] = compiled.sql
    con = duckdb.connect()
    con.register("profile_arrow", arrow)
    con.execute(f'CREATE TABLE "{table.schema.table}" AS SELECT * FROM profile_arrow')
    con.unregister("profile_arrow")
    counters = {k: (lambda q=q: int(con.execute(q).fetchone()[0])) for k, q in sqls.items()}
    return counters, {"sql": sqls, "version": duckdb.__version__,
                      "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}


# ------------------------------------------------------------------ the figure


def run(quick: bool = False, log=print) -> Figure:
    import numpy as np

    from segdsl.backends.memory.columnar import evaluate

    from bench.sizing import to_arrow

    rounds = 5 if quick else 31
    table = load_profile(bigdata.QUICK_SCALE if quick else bigdata.SCALE, log)
    n = table.n_rows
    checked = rules(workspace())
    sides: dict[str, dict] = {"segdsl": {k: (lambda r=r: int(np.count_nonzero(evaluate(r, table, AS_OF))))
                                         for k, r in checked.items()}}
    sides["numpy"] = numpy_counters(table)
    log("columnar: Arrow, DuckDB and polars copies of the profile (untimed)")
    arrow = to_arrow(table)
    sides["duckdb"], duck = duckdb_counters(table, arrow)
    try:
        import polars as pl

        sides["polars"] = polars_counters(pl.from_arrow(arrow))
        polars_version = pl.__version__
    except ImportError:
        polars_version = None
        log("columnar: polars is not installed; its baseline is skipped (pip install polars)")

    log("columnar: checking that every side counts segdsl's members (also the warm-up)")
    counts = {side: {k: f() for k, f in fns.items()} for side, fns in sides.items()}
    for side, got in counts.items():
        bad = {k: (counts["segdsl"][k], v) for k, v in got.items() if v != counts["segdsl"][k]}
        if bad:
            raise BenchError(f"{side} disagrees with segdsl (segdsl, {side}): {bad}")

    log(f"columnar: {rounds} rounds of {len(RULES)} rules on each side, interleaved")
    load_before = os.getloadavg()[0]
    order = list(sides)
    times = {side: {k: [] for k in RULES} for side in sides}
    for r in range(rounds):
        gc.collect()
        for side in order[r % len(order):] + order[: r % len(order)]:
            for k, f in sides[side].items():
                t0 = clock()
                f()
                times[side][k].append(clock() - t0)
    med = {side: {k: median(v) for k, v in t.items()} for side, t in times.items()}

    fig = Figure(
        name="columnar",
        title=f"count the members of one rule over {n:,} in-memory golf profiles, median of {rounds} rounds",
        baseline=("hand-written numpy masks (NULLs handled) on the same encoding; DuckDB "
                  f"{duck['version']} ({duck['threads']} threads) COUNT(*) compiled by segdsl over an in-memory "
                  "table of the same columns; hand-written polars "
                  + (f"{polars_version} " if polars_version else "") + "filters on the same Arrow data"),
    )
    labels = {"lapsing_players": "2 conditions", "active_golfers_low_handicap": "6 conditions"}
    goals = [("numpy", GOAL_NUMPY, "≤"), ("duckdb", GOAL_DUCKDB, "<"), ("polars", GOAL_POLARS, "<")]
    for k in RULES:
        ours = med["segdsl"][k]
        for side, limit, cmp in goals:
            if side not in med:
                continue
            r = ratio(ours, med[side][k])
            met = r <= limit if cmp == "≤" else r < limit
            fig.rows.append(Row(f"{k} ({labels[k]}) vs {side}", us(ours), us(med[side][k]), f"{r:.2f}×",
                                f"{cmp} {limit:.1f}×", met))
            fig.goals.append(Goal(f"{k}_vs_{side}", round(r, 3), limit,
                                  "ratio" + (" (strictly below)" if cmp == "<" else ""), met,
                                  f"segdsl {ours / 1e6:.2f} ms vs {side} {med[side][k] / 1e6:.2f} ms"))
    fig.notes = [
        "members: " + ", ".join(f"{k} {counts['segdsl'][k]:,}" for k in RULES) + "; every side counted the same",
        (f"1-min load average before / after the rounds: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    if polars_version is None:
        fig.notes.append("polars baseline skipped: polars is not installed (pip install polars)")
    fig.data = {
        "rows": n, "rounds": rounds, "counts": counts["segdsl"],
        "median_ms": {side: {k: v / 1e6 for k, v in d.items()} for side, d in med.items()},
        "duckdb_sql": duck["sql"], "duckdb_threads": duck["threads"], "duckdb_version": duck["version"],
        "polars_version": polars_version,
        "goals": {"numpy": GOAL_NUMPY, "duckdb": GOAL_DUCKDB, "polars": GOAL_POLARS},
    }
    return fig
