"""Figure `sequences`: the members of an event-sequence rule over 1,000,000 guests.

The two segments of ``examples/hospitality/sequences.seg`` over the 1,000,000 generated
guests of ``bench.bigdata`` (their bookings and engagement events):
``cancelled_not_rebooked`` (``not followed by`` within 30 days, one source on both
sides) and ``clicked_then_booked`` (``followed by`` within 7 days, two sources).

Ours: the columnar path, from the source rows in memory to the member count: the
profile column of the sequence (``build_profile``: one sort of both sides' events) and
``segdsl.backends.memory.columnar.evaluate`` over it. Baseline, on the same data in the
same run, interleaved with ours: DuckDB running the ``COUNT(*)`` query segdsl compiles
for it (correlated ``EXISTS``) over in-memory tables of the same rows. Each rule runs on
two storage orders of the sources: as generated (by guest, as a per-guest export is) and
reordered by their time column (as an event log is), DuckDB given its own tables of the
reordered rows. Reading the CSV files, reordering and copying the rows into DuckDB
are untimed. Both sides must count the same members, in both orders. Goal, per rule and
order: ours ≤ 1.0× DuckDB.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from statistics import median
from time import perf_counter_ns as clock

from bench import ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio, us

DOMAIN = "hospitality"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SEGMENT_FILE = "examples/hospitality/sequences.seg"
RULES = ("cancelled_not_rebooked", "clicked_then_booked")
#: The storage orders each rule runs on: the sources as generated (by guest), and
#: reordered by their time column.
ORDERS = ("by guest", "by time")
GOAL_DUCKDB = 1.0


def _rules():
    from segdsl.project.workspace import load_workspace

    ws = load_workspace([ROOT / SEGMENT_FILE])
    if not ws.ok or ws.schema is None:
        raise BenchError(f"{SEGMENT_FILE} does not check: " + "; ".join(d.message for d in ws.diagnostics))
    return ws.schema, {name: ws.segments[name].rule for name in RULES}


def _load(schema, rules, scale: int, log):
    from segdsl.backends.memory.profile import load_source, profile_fields, source_columns
    from segdsl.data.tables import load_table

    data, _ = bigdata.ensure(scale, log=log, domain=DOMAIN)
    fields = profile_fields(rules.values())
    wanted = source_columns(fields)
    log(f"sequences: reading {schema.table} and {', '.join(sorted(wanted))} (untimed)")
    entity = load_table(schema, data, columns=[schema.key.column])
    sources = {name: load_source(schema.sources[name], data, columns=cols) for name, cols in wanted.items()}
    return entity, sources


def _by_time(table):
    """``table`` with its rows reordered by its time column (stably; NULL times last), as
    an event log stores them."""
    import numpy as np

    from segdsl.data.tables import Column, Table

    time = table.columns[table.schema.time]
    order = np.lexsort((time.values, ~time.valid))
    columns = {name: Column(c.values[order], c.valid[order]) for name, c in table.columns.items()}
    return Table(table.schema, columns, table.n_rows)


def _duckdb(schema, rules, entity, sources):
    import duckdb

    from segdsl.backends.sql import compile_rule

    from bench.sizing import to_arrow

    con = duckdb.connect()
    for table in [entity, *sources.values()]:
        con.register("arrow_rows", to_arrow(table))
        con.execute(f'CREATE TABLE "{table.schema.table}" AS SELECT * FROM arrow_rows')
        con.unregister("arrow_rows")
    sqls = {}
    for name, rule in rules.items():
        compiled = compile_rule(rule, schema, target="duckdb", form="count", as_of=AS_OF, pretty=False)
        if not compiled.ok:
            raise BenchError(f"cannot compile `{name}` for DuckDB: {compiled.diagnostics}")
        sqls[name] = compiled.sql
    counters = {k: (lambda q=q: int(con.execute(q).fetchone()[0])) for k, q in sqls.items()}
    return counters, {"sql": sqls, "version": duckdb.__version__,
                      "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}


def run(quick: bool = False, log=print) -> Figure:
    import numpy as np

    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import build_profile, profile_fields

    rounds = 3 if quick else 7
    schema, rules = _rules()
    entity, stored = _load(schema, rules, bigdata.QUICK_SCALE if quick else bigdata.SCALE, log)
    log("sequences: the sources reordered by their time column (untimed)")
    by_order = {"by guest": stored, "by time": {name: _by_time(t) for name, t in stored.items()}}

    def ours(rule, sources):
        def count():
            table = build_profile(schema, entity, sources, profile_fields([rule]), AS_OF)
            return int(np.count_nonzero(evaluate(rule, table, AS_OF)))
        return count

    sides, duck = {}, None
    for storage, sources in by_order.items():
        sides[("segdsl", storage)] = {k: ours(r, sources) for k, r in rules.items()}
        log(f"sequences: DuckDB copies of the rows stored {storage} (untimed)")
        sides[("duckdb", storage)], duck = _duckdb(schema, rules, entity, sources)

    log("sequences: checking that DuckDB counts segdsl's members in both orders (also the warm-up)")
    counts = {side: {k: f() for k, f in fns.items()} for side, fns in sides.items()}
    if any(c != counts[("segdsl", "by guest")] for c in counts.values()):
        raise BenchError("the counts disagree: " + "; ".join(f"{a} ({o}): {c}" for (a, o), c in counts.items()))
    members = counts[("segdsl", "by guest")]

    log(f"sequences: {rounds} rounds of {len(RULES)} rules on each side and order, interleaved")
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

    n = entity.n_rows
    rows = {name: t.n_rows for name, t in stored.items()}
    fig = Figure(
        name="sequences",
        title=(f"members of an event-sequence rule over {n:,} guests in memory, sources stored by guest and by "
               f"time, median of {rounds} rounds"),
        baseline=(f"DuckDB {duck['version']} ({duck['threads']} threads) running the COUNT(*) segdsl compiles "
                  "(correlated EXISTS) over in-memory tables of the same rows, in the same order"),
    )
    labels = {"cancelled_not_rebooked": "not followed by, 30 days", "clicked_then_booked": "followed by, 7 days"}
    for storage in ORDERS:
        for k in RULES:
            ns_ours, ns_duck = med[("segdsl", storage)][k], med[("duckdb", storage)][k]
            r = ratio(ns_ours, ns_duck)
            met = r <= GOAL_DUCKDB
            fig.rows.append(Row(f"{k} ({labels[k]}), stored {storage}, vs duckdb", us(ns_ours), us(ns_duck),
                                f"{r:.2f}×", f"≤ {GOAL_DUCKDB:.1f}×", met))
            name = f"{k}_vs_duckdb" if storage == "by guest" else f"{k}_by_time_vs_duckdb"
            fig.goals.append(Goal(name, round(r, 3), GOAL_DUCKDB, "ratio", met,
                                  f"stored {storage}: segdsl {ns_ours / 1e6:.1f} ms vs duckdb {ns_duck / 1e6:.1f} ms"))
    fig.notes = [
        "members: " + ", ".join(f"{k} {members[k]:,}" for k in RULES) + "; DuckDB counted the same, in both orders",
        "source rows: " + ", ".join(f"{name} {c:,}" for name, c in rows.items()),
        (f"1-min load average before / after the rounds: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    fig.data = {
        "guests": n, "source_rows": rows, "rounds": rounds, "counts": members, "orders": list(ORDERS),
        "median_ms": {f"{side} {storage}": {k: v / 1e6 for k, v in d.items()} for (side, storage), d in med.items()},
        "duckdb_sql": duck["sql"], "duckdb_threads": duck["threads"], "duckdb_version": duck["version"],
        "goals": {"duckdb": GOAL_DUCKDB},
    }
    return fig
