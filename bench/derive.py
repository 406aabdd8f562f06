"""Figure `derive`: the profile of 1,000,000 guests (about 5,000,000 bookings) derived
in memory, by DuckDB and by Postgres, with times and peak memory.

Ours: ``build_profile`` (numpy group-bys) for the 7 traits the example segments read,
on tables already loaded by ``load_table`` (the CSV load is timed apart). Baseline, in
the same run: DuckDB running the profile SQL segdsl compiles for DuckDB over the same
data already in DuckDB's memory, aggregation only. Postgres is context: the same tables
loaded as ``segdsl db load`` does, then the profile SQL compiled for Postgres. Each
side runs in its own interpreter, so each peak RSS is that task's alone, and each side's
profile checksums (per trait: non-NULL count and sum) must agree, or the figure fails.
Goal: in-memory derivation ≤ DuckDB's aggregation (ratio ≤ 1.0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from statistics import median

from bench import ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio

GOAL_RATIO = 1.0
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def run_task(name: str, args: dict, log) -> dict:
    log(f"derive: task `{name}` in a fresh interpreter")
    proc = subprocess.run([sys.executable, "-m", "bench.derive_tasks", name, json.dumps(args)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"derive task `{name}` failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def secs(s: float) -> str:
    return f"{s:,.2f} s" if s < 100 else f"{s:,.0f} s"


def mib(m: float | None) -> str:
    if m is None:
        return "n/a"
    return f"{m / 1024:,.2f} GiB" if m >= 1024 else f"{m:,.0f} MiB"


def _postgres(scale: int, manifest: dict, handoff: Path, dsn: str | None, quick: bool, log) -> dict:
    """The Postgres context rows' task, or ``{"error": why}`` where it does not run."""
    if scale > bigdata.DEFAULT_SCALE:
        log("derive: Postgres skipped above the default scale")
        return {"error": (f"the Postgres context rows run at {bigdata.DEFAULT_SCALE:,} profiles and below: loading "
                          f"{sum(manifest['rows'].values()):,} rows with COPY would take longer than the rest of "
                          "the figure (about 2 minutes per 1,000,000 guests on a 2-core machine)")}
    dsn = dsn or os.environ.get("SEGDSL_TEST_DSN") or DEFAULT_DSN
    try:
        return run_task("postgres", {"handoff": str(handoff), "rounds": 1 if quick else 2, "dsn": dsn,
                                     "schema": f"segdsl_bench_{os.getpid()}"}, log)
    except BenchError as exc:
        log(f"derive: Postgres skipped: {str(exc).splitlines()[-1]}")
        return {"error": str(exc)}


def run(quick: bool = False, log=print, workdir: Path | None = None, dsn: str | None = None) -> Figure:
    scale = bigdata.QUICK_SCALE if quick else bigdata.SCALE
    data, manifest = bigdata.ensure(scale, log=log)
    workdir = Path(workdir or data.parent)
    handoff = workdir / "handoff.pkl"
    rounds = 1 if quick else 3

    load_before = os.getloadavg()[0]
    mem = run_task("memory", {"data": str(data), "rounds": rounds, "handoff": str(handoff)}, log)
    duck = run_task("duckdb", {"data": str(data), "rounds": 1 if quick else 5}, log)
    duck1 = run_task("duckdb", {"data": str(data), "rounds": 1 if quick else 3, "threads": 1}, log)
    pg = _postgres(scale, manifest, handoff, dsn, quick, log)

    for other, label in ((duck, "DuckDB"), (duck1, "DuckDB (1 thread)"), (pg, "Postgres")):
        if "checksums" in other and other["checksums"] != mem["checksums"]:
            raise BenchError(f"{label} derived a different profile than memory:\n"
                             f"  memory {mem['checksums']}\n  {label} {other['checksums']}")

    rows = mem["rows"]
    n_guests, n_bookings = rows["guests"], rows["bookings"]
    ours = median(mem["derive_s"])
    base = median(duck["query_s"])
    base1 = median(duck1["query_s"])
    r = ratio(ours, base)
    met = r <= GOAL_RATIO
    load_total = sum(mem["load_s"].values())
    extra_mem = max(mem["peak_derive_mb"] - mem["rss_loaded_mb"], 0.0)
    extra_duck = max(duck["peak_query_mb"] - duck["rss_loaded_mb"], 0.0)

    fig = Figure(
        name="derive",
        title=(f"derive the profile ({len(mem['traits'])} traits) of {n_guests:,} guests / {n_bookings:,} bookings"
               f" ({sum(rows.values()):,} source rows), median of {rounds}"),
        baseline=(f"DuckDB {duck['version']} ({duck['threads']} threads), in-memory tables, running the profile SQL "
                  "segdsl compiles for DuckDB (COUNT of every trait over the CTE), aggregation only"),
    )
    fig.rows = [
        Row("derive profile (in memory vs DuckDB)", secs(ours), secs(base), f"{r:.2f}×", f"≤ {GOAL_RATIO:.1f}×", met),
        Row("  … vs DuckDB on 1 thread", secs(ours), secs(base1), f"{ratio(ours, base1):.2f}×"),
        Row("load CSVs (load_table vs DuckDB read_csv)", secs(load_total), secs(duck["load_s"]),
            f"{ratio(load_total, duck['load_s']):.1f}×"),
        Row("peak RSS, whole task (load + derive)", mib(mem["peak_task_mb"]), mib(duck["peak_task_mb"]),
            f"{ratio(mem['peak_task_mb'], duck['peak_task_mb']):.2f}×"),
        Row("peak RSS during derivation (incl. tables)", mib(mem["peak_derive_mb"]), mib(duck["peak_query_mb"]),
            f"{ratio(mem['peak_derive_mb'], duck['peak_query_mb']):.2f}×"),
        Row("  RSS of the loaded tables alone", mib(mem["rss_loaded_mb"]), mib(duck["rss_loaded_mb"]),
            f"{ratio(mem['rss_loaded_mb'], duck['rss_loaded_mb']):.2f}×"),
        Row("  added by the derivation itself", mib(extra_mem), mib(extra_duck), f"{ratio(extra_mem, extra_duck):.2f}×"),
    ]
    fig.notes = [
        "load times per table (in memory): " + ", ".join(f"{t} {secs(s)}" for t, s in mem["load_s"].items()),
        "traits: " + ", ".join(mem["traits"]) + "; profile checksums agree across memory, DuckDB"
        + (", Postgres" if "checksums" in pg else ""),
    ]
    if "error" in pg:
        fig.notes.append("Postgres skipped: " + pg["error"].splitlines()[-1])
    else:
        pq = median(pg["query_s"])
        fig.rows += [
            Row("Postgres: load (COPY from the tables)", secs(pg["load_s"])),
            Row("Postgres: derive profile (our SQL)", secs(pq), secs(base), f"{ratio(pq, base):.2f}×"),
            Row("Postgres: peak RSS, loading client", mib(pg["peak_client_load_mb"])),
            Row("Postgres: peak RSS, server backend", mib(pg["peak_backend_query_mb"])),
        ]
        s = pg["settings"]
        fig.notes.append(
            f"Postgres {s.get('server_version', '?').split()[0]}: load = loading.load_project on the loaded tables "
            f"(COPY, rows streamed in batches), sources no segment reads left empty; ANALYZE "
            f"{secs(pg['analyze_s'])} (untimed); query median of {len(pg['query_s'])} after a warm-up; "
            f"max_parallel_workers_per_gather={s.get('max_parallel_workers_per_gather')}, "
            f"work_mem={int(s.get('work_mem', 0)) // 1024} MiB; backend peak counts shared buffers it touched, "
            "not parallel workers")
    fig.notes.append(f"1-min load average before / after the tasks: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
                     f"on {os.cpu_count()} CPUs (other work on the machine skews every side)")
    if manifest.get("note"):
        fig.notes.append("note: " + manifest["note"])
    fig.goals = [Goal("derive_vs_duckdb", round(r, 3), GOAL_RATIO, "ratio", met,
                      f"in memory {ours:.2f} s vs DuckDB {base:.2f} s")]
    fig.data = {
        "dataset": {"dir": str(data.relative_to(ROOT)), **manifest},
        "memory": mem, "duckdb": duck, "duckdb_1_thread": duck1, "postgres": pg,
        "ratio": r, "goal_ratio": GOAL_RATIO,
    }
    return fig
