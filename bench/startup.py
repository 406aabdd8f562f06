"""Figure `startup`: wall time of ``segdsl check examples/hospitality/segments.seg``.

Ours: the ``segdsl`` console script next to the running Python. Baseline, in the same
run: ``python -c 'import lark, sqlglot'`` with that Python — the floor for a command
that loads our two core libraries. Runs are interleaved (alternating which goes first)
so drift in machine load hits both alike. Goals: median ratio ≤ 1.6, and none of
numpy, pyarrow, duckdb, psycopg imported on the ``check`` path (sqlglot is reported
too: allowed, but ``check`` does not need it).

A second goal: importing segdsl's library API — the package plus everything a program
needs to parse, check and compile a rule (``segdsl.syntax.parser``, ``segdsl.check.checker``,
``segdsl.backends.sql``) — ≤ 1.2× ``import lark, sqlglot``, interleaved the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from time import perf_counter_ns as clock

from bench import ROOT
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import median, percentile, ratio, us

TARGET = "examples/hospitality/segments.seg"
GOAL_RATIO = 1.6
IMPORT_GOAL_RATIO = 1.2
#: What a program embedding segdsl imports to parse, check and compile rules. Lark's
#: grammar is not loaded until the first parse (then from Lark's cache).
IMPORT_API = ("import segdsl; from segdsl.syntax import parser; from segdsl.check import checker; "
              "from segdsl.backends.sql import compile_rule")
FORBIDDEN = ("numpy", "pyarrow", "duckdb", "psycopg")
WATCHED = (*FORBIDDEN, "sqlglot")

# Runs `segdsl check` in-process through the click group (standalone_mode=False) and
# reports which heavy packages ended up in sys.modules, and the command's exit status.
_PROBE = r"""
import contextlib, io, json, sys
from segdsl.cli.main import cli
out = io.StringIO()
status = 0
with contextlib.redirect_stdout(out):
    try:
        cli.main(["check", sys.argv[1]], prog_name="segdsl", standalone_mode=False)
    except SystemExit as exc:
        status = exc.code
watched = sys.argv[2].split(",")
print(json.dumps({"status": status, "output": out.getvalue(),
                  "loaded": [m for m in watched if m in sys.modules]}))
"""


def segdsl_script() -> str:
    """The console script installed alongside this Python (the venv's)."""
    here = Path(sys.executable).parent / "segdsl"
    if here.exists():
        return str(here)
    found = shutil.which("segdsl")
    if found is None:
        raise BenchError("no `segdsl` command next to this Python or on PATH; run with the venv's python")
    return found


#: The environment of every timed run. Without PYTHONDONTWRITEBYTECODE, as on a user's
#: machine: the warm-up run writes segdsl's .pyc files (an editable install has none
#: until then; lark's and sqlglot's came with their install), so both sides import
#: from bytecode. With it set, only segdsl would recompile its source on every run.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(cmd: list[str]) -> int:
    t0 = clock()
    proc = subprocess.run(cmd, cwd=ROOT, env=_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = clock() - t0
    if proc.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stderr.decode(errors='replace').strip()}")
    return took


def _import_times(stderr: str) -> tuple[list[dict], set[str]]:
    """From ``-X importtime`` output, whose lines read ``import time: SELF | CUMULATIVE |
    <two spaces per nesting level>NAME``: the top-level imports by cumulative time, and
    the set of every module imported."""
    rows, names = [], set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cum_us, name = line.removeprefix("import time:").split("|")
        names.add(name.strip())
        if name[1:].startswith(" "):  # imported by another module: counted in its parent
            continue
        rows.append({"module": name.strip(), "self_us": int(self_us), "cumulative_us": int(cum_us)})
    rows.sort(key=lambda r: -r["cumulative_us"])
    return rows, names


def probe_modules(script: str) -> dict:
    """Which watched packages ``segdsl check`` imports, seen two ways: ``sys.modules``
    after running the click command in-process, and ``-X importtime`` on the real
    console script (which also gives the import costs)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, TARGET, ",".join(WATCHED)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"module probe failed:\n{proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["status"] not in (0, None):
        raise BenchError(f"`segdsl check {TARGET}` exited {result['status']}:\n{result['output']}")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", script, "check", TARGET],
        cwd=ROOT, env=_ENV, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"`segdsl check {TARGET}` exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")
    top, names = _import_times(proc.stderr)
    seen = {m for m in WATCHED if any(n == m or n.startswith(m + ".") for n in names)}
    result["sys_modules_loaded"] = result["loaded"]
    result["importtime_loaded"] = sorted(seen)
    result["loaded"] = sorted(set(result["loaded"]) | seen)
    result["import_times"] = top[:10]
    return result


def run(quick: bool = False, log=print) -> Figure:
    runs = 3 if quick else 21
    ours_cmd = [segdsl_script(), "check", TARGET]
    base_cmd = [sys.executable, "-c", "import lark, sqlglot"]

    log(f"startup: warm-up, then {runs} interleaved runs of each")
    _wall(ours_cmd), _wall(base_cmd)  # page cache, .pyc files
    ours, base = [], []
    for i in range(runs):
        if i % 2 == 0:
            ours.append(_wall(ours_cmd))
            base.append(_wall(base_cmd))
        else:
            base.append(_wall(base_cmd))
            ours.append(_wall(ours_cmd))

    api_cmd = [sys.executable, "-c", IMPORT_API]
    log(f"startup: `import segdsl` (compile API), {runs} interleaved runs against the baseline")
    _wall(api_cmd)
    api, api_base = [], []
    for i in range(runs):
        pair = [(api, api_cmd), (api_base, base_cmd)]
        for sink, cmd in pair if i % 2 == 0 else reversed(pair):
            sink.append(_wall(cmd))

    log("startup: which heavy modules does `segdsl check` import?")
    probe = probe_modules(ours_cmd[0])
    loaded = probe["loaded"]
    forbidden = [m for m in loaded if m in FORBIDDEN]

    med, bmed = median(ours), median(base)
    r = ratio(med, bmed)
    ratio_met = r <= GOAL_RATIO
    modules_met = not forbidden

    amed, abmed = median(api), median(api_base)
    ar = ratio(amed, abmed)
    api_met = ar <= IMPORT_GOAL_RATIO

    fig = Figure(
        name="startup",
        title=f"`segdsl check {TARGET}` wall time, median of {runs} runs",
        baseline="python -c 'import lark, sqlglot' (same Python), runs interleaved with ours",
    )
    fig.rows = [
        Row("wall time (median)", us(med), us(bmed), f"{r:.2f}×", f"≤ {GOAL_RATIO}×", ratio_met),
        Row("wall time (min)", us(min(ours)), us(min(base)), f"{ratio(min(ours), min(base)):.2f}×"),
        Row("heavy modules imported", ", ".join(forbidden) or "none", goal=f"none of {', '.join(FORBIDDEN)}",
            met=modules_met),
        Row("sqlglot imported", "yes" if "sqlglot" in loaded else "no", goal="no (allowed)"),
        Row("import segdsl (parse/check/compile API, median)", us(amed), us(abmed), f"{ar:.2f}×",
            f"≤ {IMPORT_GOAL_RATIO}×", api_met),
    ]
    fig.goals = [
        Goal("startup_ratio", round(r, 3), GOAL_RATIO, "ratio", ratio_met,
             f"median {med / 1e6:.1f} ms vs baseline {bmed / 1e6:.1f} ms"),
        Goal("heavy_modules", len(forbidden), 0, "modules", modules_met,
             ", ".join(forbidden) or "none of " + ", ".join(FORBIDDEN)),
        Goal("import_api_ratio", round(ar, 3), IMPORT_GOAL_RATIO, "ratio", api_met,
             f"median {amed / 1e6:.1f} ms vs `import lark, sqlglot` {abmed / 1e6:.1f} ms"),
    ]
    top = probe["import_times"][:5]
    fig.notes = [
        "slowest top-level imports of `segdsl check` (-X importtime, cumulative): "
        + ", ".join(f"{t['module']} {t['cumulative_us'] / 1e3:.0f} ms" for t in top),
    ]
    if "sqlglot" in loaded:
        fig.notes.append("note: sqlglot is imported by `segdsl check`, which does not need it")
    fig.data = {
        "runs": runs,
        "ours_ms": {"median": med / 1e6, "min": min(ours) / 1e6, "p90": percentile(ours, 90) / 1e6,
                    "samples": [x / 1e6 for x in ours]},
        "baseline_ms": {"median": bmed / 1e6, "min": min(base) / 1e6, "p90": percentile(base, 90) / 1e6,
                        "samples": [x / 1e6 for x in base]},
        "ratio_median": r,
        "goal_ratio": GOAL_RATIO,
        "import_api": {"command": api_cmd, "median_ms": amed / 1e6, "baseline_median_ms": abmed / 1e6,
                       "ratio": ar, "goal_ratio": IMPORT_GOAL_RATIO},
        "command": ours_cmd,
        "baseline_command": base_cmd,
        "modules_loaded": loaded,
        "modules_seen_in_sys_modules": probe["sys_modules_loaded"],
        "modules_seen_by_importtime": probe["importtime_loaded"],
        "forbidden_loaded": forbidden,
        "import_times": probe["import_times"],
    }
    return fig
