"""Figure `refresh`: ``segdsl refresh --all`` of every example segment over 1,000,000
guests, twice — a first refresh that stores every snapshot in full, then one a day later
that diffs against it (entered / exited) — in memory with the SQLite state store, and
on Postgres with the state in Postgres, with times and peak memory.

Each refresh runs the real command (``segdsl.cli.main``, in-process) in a fresh interpreter,
which reports its own peak RSS (the kernel's VmHWM, see ``workload.peak_rss_mb``). The
child also times and takes the peak of its two phases: evaluating the members (in memory:
the CSV load and the evaluator; on Postgres: the compiled queries) and committing the
snapshots and events. Baseline, in the same run: the bare evaluation of the same
segments without any state (``load_profile`` + the columnar evaluator, or the compiled
queries on Postgres), so the ratio is the refresh's overhead. Goal: every refresh's
peak RSS below 2 GiB (on Postgres: the client's). ``python -m bench.refresh_bench TASK
'<json>'`` runs one task and prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from time import perf_counter

from bench import ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio
from bench.workload import SEGMENT_FILES, hwm_mb, peak_rss_mb, reset_hwm, rss_mb

GOAL_PEAK_MB = 2048.0
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
FIRST, SECOND = "2026-11-01", "2026-11-02"  # a full snapshot, then a day's diff
PROJECT_NAME = "refresh-bench"


# ------------------------------------------------------------------ the project


def make_project(folder: Path, data: Path) -> list[Path]:
    """A copy of the example segments and schema whose ``segdsl.toml`` points at
    ``data``; returns the .seg files."""
    folder.mkdir(parents=True, exist_ok=True)
    example = ROOT / "examples" / "hospitality"
    shutil.copy(example / "schema.toml", folder / "schema.toml")
    files = []
    for rel in SEGMENT_FILES:
        files.append(folder / Path(rel).name)
        shutil.copy(ROOT / rel, files[-1])
    (folder / "segdsl.toml").write_text(
        f'name = "{PROJECT_NAME}"\nschema = "schema.toml"\ndata = {json.dumps(str(data.resolve()))}\n',
        encoding="utf-8")
    return files


def _workspace(files):
    from segdsl.project.workspace import load_workspace

    ws = load_workspace([Path(f) for f in files])
    if not ws.ok:
        raise BenchError("the bench project does not check: " + "; ".join(d.message for d in ws.diagnostics))
    return ws


def _instant(day: str):
    import datetime as dt

    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------ tasks (children)


class _Backends:
    """Peak RSS of the Postgres backends this process connects to, sampled from
    ``/proc`` while they live (the server runs on this machine)."""

    def __init__(self):
        self.pids: list[int] = []
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def install(self) -> None:
        import psycopg

        connect = psycopg.connect

        def recording(*args, **kwargs):
            conn = connect(*args, **kwargs)
            self.pids.append(conn.info.backend_pid)
            return conn

        psycopg.connect = recording
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            for pid in list(self.pids):
                try:
                    self.peak[pid] = max(self.peak.get(pid, 0.0), hwm_mb(pid))
                except (OSError, ValueError):
                    pass

    def result(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return max(self.peak.values()) if self.peak else None


def _phase(record: dict, name: str, fn):
    """Wrap ``fn`` so each call's time and peak RSS are added to ``record[name]``."""

    def timed(*args, **kwargs):
        gc.collect()
        # Resetting the peak mark loses the peak so far: keep it.
        record["before_mb"] = max(record.get("before_mb", 0.0), hwm_mb())
        reset_hwm()
        start = rss_mb()
        t0 = perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            took = perf_counter() - t0
            entry = record.setdefault(name, {"s": 0.0, "peak_mb": 0.0, "start_mb": start})
            entry["s"] += took
            entry["peak_mb"] = max(entry["peak_mb"], hwm_mb())

    return timed


def task_refresh(args: dict) -> dict:
    """``segdsl refresh FILES --all --as-of DAY [--dsn URL] --format json``, in-process."""
    import contextlib
    import io

    from segdsl.lifecycle import refresh as refresh_module
    from segdsl.lifecycle import state as state_module
    from segdsl.cli.main import cli

    phases: dict = {}
    backends = _Backends() if args.get("dsn") else None
    if backends:
        backends.install()
    for name in ("member_arrays_in_memory", "members_in_memory"):  # which one refresh() calls
        if hasattr(refresh_module, name):
            setattr(refresh_module, name, _phase(phases, "evaluate", getattr(refresh_module, name)))
    refresh_module.members_on_database = _phase(phases, "evaluate", refresh_module.members_on_database)
    state_module.Store.commit = _phase(phases, "commit", state_module.Store.commit)
    argv = ["refresh", *args["files"], "--all", "--as-of", args["as_of"], "--format", "json"]
    if args.get("dsn"):
        argv += ["--dsn", args["dsn"]]
    out = io.StringIO()
    t0 = perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            cli.main(argv, prog_name="segdsl", standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise BenchError(f"segdsl refresh exited {exc.code}") from None
    took = perf_counter() - t0
    report = json.loads(out.getvalue())
    before = phases.pop("before_mb", 0.0)
    return {
        "s": took, "phases": phases,
        "peak_mb": max(before, peak_rss_mb(), *(p["peak_mb"] for p in phases.values())),
        "backend_peak_mb": backends.result() if backends else None,
        "segments": {r["segment"]: [r["status"], r["size"], r["entered"], r["exited"]] for r in report["segments"]},
    }


def task_evaluate(args: dict) -> dict:
    """The baseline: every segment's members, no state. In memory: ``load_profile``
    then the columnar evaluator, timed apart; on a database: the compiled queries."""
    from segdsl.lifecycle.refresh import members_on_database

    ws = _workspace(args["files"])
    segs = ws.requested_segments()
    as_of = _instant(args["as_of"])
    if args.get("dsn"):
        t0 = perf_counter()
        found = members_on_database(segs, ws.schema, args["dsn"], as_of)
        return {"s": perf_counter() - t0, "peak_mb": peak_rss_mb(), "sizes": {k: len(v) for k, v in found.items()}}
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile

    before = hwm_mb()
    reset_hwm()
    t0 = perf_counter()
    table = load_profile(ws.schema, ws.project.data_dir, [s.rule for s in segs], as_of)
    load_s, load_peak = perf_counter() - t0, hwm_mb()
    reset_hwm()
    t0 = perf_counter()
    keys = table.columns[ws.schema.key.column].values
    found = {s.name: keys[evaluate(s.rule, table, as_of)].tolist() for s in segs}
    eval_s, eval_peak = perf_counter() - t0, hwm_mb()
    return {"s": load_s + eval_s, "load_s": load_s, "eval_s": eval_s, "load_peak_mb": load_peak,
            "eval_peak_mb": eval_peak, "peak_mb": max(before, load_peak, eval_peak, peak_rss_mb()),
            "sizes": {k: len(v) for k, v in found.items()}}


def task_pg_load(args: dict) -> dict:
    """The entity table and the sources the segments read into the schema of ``dsn``'s
    search_path (the other sources empty), in the tables ``segdsl db load`` creates.
    The entity goes in as ``db load`` loads it (records, COPY), in slices of 200,000
    rows so the loader stays small; a source whose CSV columns are all plain (no tags)
    is streamed to Postgres's own CSV reader, whose NULL convention is segdsl's (an
    empty unquoted field). Untimed set-up: the figure then checks that Postgres and
    memory agree on every refresh."""
    from segdsl.data.tables import Column, Table, load_table
    from segdsl.data.engines import connect, create_table_sql, load_records
    from segdsl.backends.memory.profile import profile_fields
    from segdsl.schema.model import Kind

    ws = _workspace(args["files"])
    schema, data = ws.schema, ws.project.data_dir
    needed = {f.derive.source for f in profile_fields([s.rule for s in ws.requested_segments()])}
    counts = {}
    t0 = perf_counter()
    with connect(args["dsn"]) as engine:
        table = load_table(schema, data)
        step = 200_000
        counts[schema.table] = load_records(engine, schema, _slice(table, 0, step, Table, Column).records())
        for lo in range(step, table.n_rows, step):
            counts[schema.table] += _append(engine, schema, _slice(table, lo, lo + step, Table, Column).records())
        del table
        gc.collect()
        for name, source in schema.sources.items():
            engine.executescript(create_table_sql(source, "postgres"))
            engine.commit()
            if name not in needed:
                continue
            path = data / f"{source.table}.csv"
            with path.open("rb") as f:
                header = f.readline().decode("utf-8").strip().split(",")
            kinds = {fl.column: fl.kind for fl in source.stored_fields()}
            if any(kinds.get(c) in (None, Kind.TAGS) for c in header):
                raise BenchError(f"{path.name}: columns {header} cannot be streamed to Postgres's CSV reader")
            cols = ", ".join(f'"{c}"' for c in header)
            with engine.conn.cursor() as cur, path.open("rb") as f, \
                    cur.copy(f'COPY "{source.table}" ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true)') as copy:
                for block in iter(lambda: f.read(1 << 20), b""):
                    copy.write(block)
            engine.commit()
            counts[source.table] = engine.execute(f'SELECT COUNT(*) FROM "{source.table}"')[0][0]
        engine.execute("ANALYZE")
        engine.commit()
    return {"s": perf_counter() - t0, "rows": counts}


def _slice(table, lo: int, hi: int, Table, Column):
    cols = {k: Column(c.values[lo:hi], c.valid[lo:hi]) for k, c in table.columns.items()}
    return Table(table.schema, cols, max(0, min(hi, table.n_rows) - lo))


def _append(engine, schema, records) -> int:
    """COPY ``records`` into the existing table, as ``engines.load_records`` does."""
    from psycopg import sql as pgsql

    from segdsl.data.engines import storage_value

    fields = schema.stored_fields()
    stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(schema.table), pgsql.SQL(", ").join(pgsql.Identifier(f.column) for f in fields))
    with engine.conn.cursor() as cur, cur.copy(stmt) as copy:
        for r in records:
            copy.write_row(tuple(storage_value("postgres", f.kind, r.get(f.column), f.type.scale or 0)
                                 for f in fields))
    engine.commit()
    return len(records)


def task_pg_schema(args: dict) -> dict:
    """Create (``create``) or drop the private schema."""
    from segdsl.data.engines import connect

    with connect(args["admin_dsn"]) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{args["schema"]}" CASCADE')
        if args["create"]:
            admin.execute(f'CREATE SCHEMA "{args["schema"]}"')
        admin.commit()
    return {}


TASKS = {"refresh": task_refresh, "evaluate": task_evaluate, "pg-load": task_pg_load, "pg-schema": task_pg_schema}


# ------------------------------------------------------------------ the figure (parent)


def _spawn_measured(name: str, args: dict, log) -> dict:
    """Run one task in a fresh interpreter: its result, with ``maxrss_mb`` (the peak RSS
    the child measured of itself) and ``wall_s`` (start-up included)."""
    log(f"refresh: task `{name}` {args.get('as_of', '')} in a fresh interpreter")
    t0 = perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.refresh_bench", name, json.dumps(args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = {"out": [], "err": []}

    def drain(stream, into):
        for block in iter(lambda: stream.read(65536), b""):
            into.append(block)

    readers = [threading.Thread(target=drain, args=(proc.stdout, chunks["out"])),
               threading.Thread(target=drain, args=(proc.stderr, chunks["err"]))]
    for r in readers:
        r.start()
    _, status, _ = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    out, err = (b"".join(chunks[k]).decode("utf-8", "replace") for k in ("out", "err"))
    if proc.returncode != 0:
        raise BenchError(f"refresh task `{name}` failed (exit {proc.returncode}):\n{err.strip()[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = perf_counter() - t0
    # The child's own VmHWM-based peak, not the ru_maxrss os.wait4 gives: on Linux that
    # starts at this (parent) process's peak, which the figures before this one raise.
    result["maxrss_mb"] = result.get("peak_mb")
    return result


def secs(s: float) -> str:
    return f"{s:,.2f} s" if s < 100 else f"{s:,.0f} s"


def mib(m: float | None) -> str:
    if m is None:
        return "n/a"
    return f"{m / 1024:,.2f} GiB" if m >= 1024 else f"{m:,.0f} MiB"


def _check_same(label: str, refreshed: dict, sizes: dict) -> None:
    bad = {k: (v[1], sizes.get(k)) for k, v in refreshed.items() if v[1] != sizes.get(k)}
    if bad or any(v[0] != "refreshed" for v in refreshed.values()):
        raise BenchError(f"{label}: refresh sizes differ from the bare evaluation (refresh, bare): {bad}; "
                         f"statuses {sorted({v[0] for v in refreshed.values()})}")


def run(quick: bool = False, log=print, workdir: Path | None = None, dsn: str | None = None) -> Figure:
    if workdir is None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return run(quick, log, Path(tmp), dsn)
    scale = bigdata.QUICK_SCALE if quick else bigdata.SCALE
    data, manifest = bigdata.ensure(scale, log=log)
    files = [str(f) for f in make_project(Path(workdir) / "refresh-project", data)]
    load_before = os.getloadavg()[0]

    # In memory, state in the project's SQLite file.
    base = _spawn_measured("evaluate", {"files": files, "as_of": FIRST}, log)
    mem = {day: _spawn_measured("refresh", {"files": files, "as_of": day}, log) for day in (FIRST, SECOND)}
    _check_same("in memory", mem[FIRST]["segments"], base["sizes"])
    state_db = Path(workdir) / "refresh-project" / ".segdsl" / "state.db"
    state_mb = sum(p.stat().st_size for p in state_db.parent.glob("state.db*")) / 2**20

    # On Postgres, state in Postgres, in a private schema dropped afterwards.
    admin = dsn or os.environ.get("SEGDSL_TEST_DSN") or DEFAULT_DSN
    ns = f"segdsl_refresh_bench_{os.getpid()}"
    from urllib.parse import quote

    pg_dsn = admin + ("&" if "?" in admin else "?") + "options=" + quote(f"-c search_path={ns}")
    pg: dict = {}
    try:
        _spawn_measured("pg-schema", {"admin_dsn": admin, "schema": ns, "create": True}, log)
        try:
            pg["load"] = _spawn_measured("pg-load", {"files": files, "dsn": pg_dsn}, log)
            pg["base"] = _spawn_measured("evaluate", {"files": files, "as_of": FIRST, "dsn": pg_dsn}, log)
            for day in (FIRST, SECOND):
                pg[day] = _spawn_measured("refresh", {"files": files, "as_of": day, "dsn": pg_dsn}, log)
        finally:
            _spawn_measured("pg-schema", {"admin_dsn": admin, "schema": ns, "create": False}, log)
    except BenchError as exc:
        pg = {"error": str(exc)}
        log(f"refresh: Postgres skipped: {str(exc).strip().splitlines()[-1]}")
    if "error" not in pg:
        _check_same("on Postgres", pg[FIRST]["segments"], pg["base"]["sizes"])
        for day in (FIRST, SECOND):
            if pg[day]["segments"] != mem[day]["segments"]:
                raise BenchError(f"Postgres and memory refreshes disagree at {day}:\n"
                                 f"  memory {mem[day]['segments']}\n  Postgres {pg[day]['segments']}")

    return _figure(quick, manifest, base, mem, pg, state_mb, load_before)


def _figure(quick, manifest, base, mem, pg, state_mb, load_before) -> Figure:
    n = manifest["rows"]["guests"]
    segs = mem[FIRST]["segments"]
    members = sum(v[1] for v in segs.values())
    changes = {day: sum(v[2] + v[3] for v in mem[day]["segments"].values()) for day in (FIRST, SECOND)}
    fig = Figure(
        name="refresh",
        title=(f"`segdsl refresh --all` of {len(segs)} example segments over {n:,} guests "
               f"({members:,} members): a full snapshot, then a day's diff"),
        baseline=("the bare evaluation of the same segments at the same as-of, no state: load_profile + the "
                  "columnar evaluator in memory; the compiled queries on Postgres"),
    )
    goals = []

    def memory_goal(label: str, key: str, peak: float) -> Row:
        if n > bigdata.DEFAULT_SCALE:  # the goal is set for 1,000,000 guests; above it the peak is context
            return Row(f"  peak RSS{' (client)' if key.startswith('pg') else ''}", mib(peak),
                       goal=f"— (goal set at {bigdata.DEFAULT_SCALE:,})")
        met = peak < GOAL_PEAK_MB
        goals.append(Goal(key, round(peak, 1), GOAL_PEAK_MB, "MiB (strictly below)", met, label))
        return Row(f"  peak RSS{' (client)' if key.startswith('pg') else ''}", mib(peak), goal="< 2.00 GiB", met=met)

    rows = [Row(f"in memory, SQLite state (bare evaluation: {secs(base['s'])}, peak {mib(base['maxrss_mb'])})",
                "")]
    for day, what, key in ((FIRST, "first refresh (full snapshots)", "memory_first"),
                           (SECOND, "second refresh (diff)", "memory_second")):
        r = mem[day]
        rows.append(Row(f"  {what}, {changes[day]:,} events", secs(r["s"]), secs(base["s"]),
                        f"{ratio(r['s'], base['s']):.2f}×"))
        rows.append(Row("    evaluate / commit", f"{secs(r['phases']['evaluate']['s'])} / "
                        f"{secs(r['phases']['commit']['s'])}"))
        ev, co = r["phases"]["evaluate"], r["phases"]["commit"]
        rows.append(Row("    peak evaluate / commit (RSS at its start)",
                        f"{mib(ev['peak_mb'])} / {mib(co['peak_mb'])} ({mib(co['start_mb'])})"))
        rows.append(memory_goal(f"in memory, {what}: peak RSS of the refresh process", f"{key}_peak_rss",
                                r["maxrss_mb"]))
    rows.append(Row("  of which the CSV load (bare evaluation's load_profile peak)", mib(base["load_peak_mb"])))
    if "error" in pg:
        rows.append(Row("on Postgres", "skipped"))
    else:
        pb = pg["base"]
        rows.append(Row(f"on Postgres, state in Postgres (bare evaluation: {secs(pb['s'])}, "
                        f"peak {mib(pb['maxrss_mb'])})", ""))
        for day, what, key in ((FIRST, "first refresh (full snapshots)", "pg_first"),
                               (SECOND, "second refresh (diff)", "pg_second")):
            r = pg[day]
            rows.append(Row(f"  {what}", secs(r["s"]), secs(pb["s"]), f"{ratio(r['s'], pb['s']):.2f}×"))
            rows.append(Row("    evaluate / commit", f"{secs(r['phases']['evaluate']['s'])} / "
                            f"{secs(r['phases']['commit']['s'])}"))
            rows.append(memory_goal(f"on Postgres, {what}: peak RSS of the client", f"{key}_peak_rss_client",
                                    r["maxrss_mb"]))
            rows.append(Row("  peak RSS (busiest backend)", mib(r["backend_peak_mb"])))
    fig.rows, fig.goals = rows, goals
    fig.notes = [
        "each task runs in a fresh interpreter; peak RSS is the child's own (VmHWM, not ru_maxrss, which on Linux "
        "starts at the spawning process's peak); phase peaks are "
        "the kernel's VmHWM, reset at each phase's start",
        "ratio: refresh time ÷ bare evaluation time (the refresh's own overhead is ratio − 1)",
        f"SQLite state store after both refreshes: {state_mb:,.0f} MiB",
        (f"1-min load average before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    if "error" in pg:
        fig.notes.append(f"Postgres skipped: {pg['error'].strip().splitlines()[-1]}")
    else:
        fig.notes.append(f"Postgres: data loaded in {secs(pg['load']['s'])} (untimed set-up); backend peaks "
                         "include the shared buffers each backend touched")
    if manifest.get("note"):
        fig.notes.append(manifest["note"])
    fig.data = {"rows": manifest["rows"], "members_first": members, "events": changes, "baseline": base,
                "memory": mem, "postgres": pg, "state_db_mb": state_mb, "goal_peak_mb": GOAL_PEAK_MB,
                "quick": quick}
    return fig


if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
