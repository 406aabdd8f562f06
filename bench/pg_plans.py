"""The `plans` figure: on Postgres, each hospitality example segment's compiled SQL
against the query an engineer would write by hand for it
(``tests/golden/handwritten/hospitality.sql``), on the 1,000,000-guest dataset.

Per segment: the size both select (they must agree), whether Postgres plans both the
same way (the shape ``tests/test_pg_plans.py`` compares: node types, joins, relations,
indexes), and the runtime of ``count(*)`` of the members, ours and hand-written
alternating, median of a few samples. Goal: ours within 1.1× of hand-written on every
segment.

The tables go into a private schema (``segdsl_plans_<pid>``), dropped afterwards. The
guest table is loaded as ``segdsl db load`` loads it (typed records, COPY); the raw
source tables the segments read are COPYed from their CSV files as they are, into the
tables segdsl creates for them. Then the indexes a user would create and ANALYZE.
"""

from __future__ import annotations

import csv
import os
import re
import statistics
import time

from bench import ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.workload import private_schema

GOAL = 1.1
DOMAIN = "hospitality"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1/postgres"
HANDWRITTEN = ROOT / "tests" / "golden" / "handwritten" / f"{DOMAIN}.sql"
#: The same user indexes as tests/test_pg_plans.py creates for this domain.
INDEXES = [
    ("bookings_guest_checked_in", "bookings", ("guest_id", "checked_in_at")),
    ("bookings_checked_in_at", "bookings", ("checked_in_at",)),
    ("consents_guest_recorded", "consents", ("guest_id", "recorded_at")),
    ("model_scores_guest_scored", "model_scores", ("guest_id", "scored_at")),
]
SHAPE_KEYS = ("Node Type", "Join Type", "Strategy", "Relation Name", "Index Name", "Scan Direction",
              "Parent Relationship")
SAMPLE_S = 0.2  # a sample repeats a fast query until it lasts about this long
SLOW_S, SLOW_SAMPLES = 3.0, 3  # fewer samples of queries slower than this, to bound the run


def handwritten() -> dict[str, str]:
    text = HANDWRITTEN.read_text(encoding="utf-8")
    parts = re.split(r"^-- segment: (\w+)\n", text, flags=re.M)
    return {name: sql.strip().rstrip(";") for name, sql in zip(parts[1::2], parts[2::2])}


def count_sql(select_sql: str) -> str:
    """``count(*)`` of a hand-written SELECT's rows (its final ORDER BY dropped)."""
    body = re.sub(r"\s+ORDER BY [^()]*$", "", select_sql.strip())
    return f"SELECT count(*) FROM (\n{body}\n) AS members"


def plan_shape(engine, sql: str):
    """As in tests/test_pg_plans.py: the plan's shape fields, projection-only
    Subquery Scans folded into their child."""
    (plan,) = engine.execute("EXPLAIN (FORMAT JSON) " + sql)[0][0]

    def shape(node: dict):
        if node["Node Type"] == "Subquery Scan" and "Filter" not in node:
            (child,) = node["Plans"]
            return shape({**child, "Parent Relationship": node.get("Parent Relationship")})
        own = tuple((k, node[k]) for k in SHAPE_KEYS if k in node and node[k] is not None)
        return own, tuple(shape(child) for child in node.get("Plans", ()))

    return shape(plan["Plan"])


def _load(engine, schema, segs, data, log) -> dict[str, int]:
    from segdsl import ir
    from segdsl.data.tables import load_table
    from segdsl.data.engines import create_table_sql, load_records

    needed = {f.derive.table for s in segs for f in ir.derived_fields(s.rule)}
    t0 = time.perf_counter()
    rows = {schema.table: load_records(engine, schema, load_table(schema, data).records())}
    for source in schema.sources.values():
        engine.executescript(create_table_sql(source, "postgres"))
        if source.table not in needed:
            continue  # created empty, as no segment reads it
        path = data / f"{source.table}.csv"
        with open(path, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        known = {f.column for f in source.stored_fields()}
        if set(header) != known:
            raise BenchError(f"{path.name}: columns {header}, expected {sorted(known)}")
        columns = ", ".join(f'"{c}"' for c in header)  # in the file's order
        copy = f'COPY "{source.table}" ({columns}) FROM STDIN (FORMAT csv, HEADER true)'
        with engine.conn.cursor() as cur, cur.copy(copy) as pipe, open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                pipe.write(chunk)
        rows[source.table] = engine.execute(f'SELECT count(*) FROM "{source.table}"')[0][0]
    engine.commit()
    log(f"plans: loaded {', '.join(f'{t} {n:,}' for t, n in rows.items())} in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    for name, table, cols in INDEXES:
        engine.execute(f'CREATE INDEX "{name}" ON "{table}" ({", ".join(cols)})')
    engine.execute("ANALYZE")
    engine.commit()
    log(f"plans: indexes and ANALYZE in {time.perf_counter() - t0:.0f} s")
    return rows


def _timed(engine, sql: str, reps: int) -> tuple[float, int]:
    """Seconds per run of a count query, and the count."""
    t0 = time.perf_counter()
    for _ in range(reps):
        count = engine.execute(sql)[0][0]
    return (time.perf_counter() - t0) / reps, count


def run(quick: bool = False, log=print, dsn: str | None = None) -> Figure:
    from segdsl.data.engines import EngineError
    from segdsl.project.workspace import load_workspace
    from segdsl.backends.sql import compile_segment

    started = time.perf_counter()
    scale = bigdata.QUICK_SCALE if quick else bigdata.SCALE
    data, _ = bigdata.ensure(scale, log=log)
    ws = load_workspace(sorted((ROOT / "examples" / DOMAIN).glob("*.seg")))
    if not ws.ok:
        raise BenchError("the hospitality example does not check")
    schema = ws.schema
    segs = [s for s in ws.segments.values() if s.rule is not None]
    hand = handwritten()
    missing = [s.name for s in segs if s.name not in hand]
    if missing:
        raise BenchError(f"no hand-written query for {', '.join(missing)} in {HANDWRITTEN.relative_to(ROOT)}")
    as_of = bigdata_as_of()
    samples = 5

    dsn = dsn or os.environ.get("SEGDSL_TEST_DSN") or DEFAULT_DSN
    ns = f"segdsl_plans_{os.getpid()}"
    results = []
    try:
        with private_schema(dsn, ns) as engine:
            rows = _load(engine, schema, segs, data, log)
            log(f"plans: {len(segs)} segments, ours and hand-written alternating, median of {samples} samples")
            for seg in segs:
                result = compile_segment(seg, schema, target="postgres", as_of=as_of, form="count")
                if not result.ok:
                    raise BenchError(f"{seg.name} does not compile: {result.diagnostics}")
                ours_sql, theirs_sql = result.sql, count_sql(hand[seg.name])
                same_plan = plan_shape(engine, ours_sql) == plan_shape(engine, theirs_sql)
                t0 = time.perf_counter()
                # The warm-up: both sides read the same tables, so one run warms both.
                n_ours = engine.execute(ours_sql)[0][0]
                first = time.perf_counter() - t0
                reps = max(1, min(50, round(SAMPLE_S / max(first, 1e-4))))
                times: dict[str, list[float]] = {"ours": [], "theirs": []}
                for i in range(samples if first < SLOW_S else SLOW_SAMPLES):
                    order = (("theirs", theirs_sql), ("ours", ours_sql))
                    for side, sql in order if i % 2 == 0 else order[::-1]:
                        seconds, n = _timed(engine, sql, reps)
                        if n != n_ours:
                            raise BenchError(f"{seg.name}: ours selects {n_ours:,} guests, {side} {n:,}")
                        times[side].append(seconds)
                med = {side: statistics.median(ts) for side, ts in times.items()}
                results.append((seg.name, n_ours, same_plan, med["ours"], med["theirs"]))
                log(f"plans: {seg.name}: {n_ours:,} guests, {med['ours'] * 1e3:.1f} ms vs "
                    f"{med['theirs'] * 1e3:.1f} ms, same plan: {'yes' if same_plan else 'no'}")
    except EngineError as exc:
        raise BenchError(str(exc)) from None

    fig = Figure(
        name="plans",
        title=f"Postgres: compiled segments vs hand-written SQL, {rows[schema.table]:,} guests",
        baseline=f"the hand-written query per segment ({HANDWRITTEN.relative_to(ROOT)}), count(*) of its members, "
                 "same server, same tables and indexes, alternating with ours",
    )
    for name, size, same_plan, ours, theirs in results:
        ratio = ours / theirs
        met = ratio <= GOAL
        fig.rows.append(Row(f"{name} ({size:,}; same plan: {'yes' if same_plan else 'no'})",
                            _ms(ours), _ms(theirs), f"{ratio:.2f}×", f"≤ {GOAL:.1f}×", met))
        fig.goals.append(Goal(f"plans_{name}", round(ratio, 3), GOAL, "ratio", met,
                              f"same plan: {'yes' if same_plan else 'no'}"))
    same = sum(1 for r in results if r[2])
    elapsed = time.perf_counter() - started
    fig.notes = [
        f"{same} of {len(results)} segments get the same plan shape as the hand-written query "
        "(tests/test_pg_plans.py asserts it on the seeds)",
        "rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + f"; the figure took {elapsed:.0f} s",
        "user indexes: " + ", ".join(f"{t}({', '.join(c)})" for _, t, c in INDEXES),
    ]
    fig.data = {"rows": rows, "segments": [
        {"segment": n, "size": s, "same_plan": p, "ours_s": o, "handwritten_s": t} for n, s, p, o, t in results]}
    return fig


def bigdata_as_of():
    import datetime as dt

    return dt.datetime.fromisoformat(bigdata.AS_OF).replace(tzinfo=dt.timezone.utc)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"
