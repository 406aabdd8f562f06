"""``python -m bench [--quick | --scale N] [compile] [startup] [project] [lsp] [derive] [sizing] [row] [columnar] [sequences] [plans] [refresh] [spark]``:
run the figures (every one but `spark` when none is named), print ours, the baseline
(measured in the same run), the ratio and the goal for each, write
``bench/results/latest.json``, and exit 1 if any goal is missed.
``--scale 10000000`` runs the in-memory data figures (derive, sizing, columnar) on ten
million profiles instead of one.

``python -m bench profile`` profiles the compile figure by stage instead;
``python -m bench profile-memory`` profiles the in-memory paths of `derive` and
`sizing`; ``python -m bench verify`` checks, on Postgres, that the compile baseline's
hand-written SQL selects the same members as our compiled SQL.

Exit status: 0 every goal met, 1 a goal missed, 2 bad usage, 3 the benchmark itself
could not run (a generated rule failed, a command errored).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import RESULTS, ROOT, bigdata
from bench.compile_time import BenchError
from bench.report import environment, environment_line, print_figure, write_json

FIGURES = ("compile", "startup", "project", "lsp", "derive", "sizing", "row", "columnar", "sequences", "plans",
           "refresh")
#: Figures that run only when named: `spark` loads the data into a Spark warehouse and
#: into DuckDB (about 5 minutes per 1,000,000 guests on a 2-core machine) and has no goal.
ON_REQUEST = ("spark",)
TOOLS = ("profile", "profile-memory", "verify")
#: What `--scale N` runs when no figure is named: the in-memory data figures. `plans` and
#: `refresh` load the data into Postgres, about 2 minutes per 1,000,000 guests here, so
#: at another scale they run only when named.
SCALED = ("derive", "sizing", "columnar", "sequences")


def _log(msg: str) -> None:
    print(f"· {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="segdsl benchmarks: each figure against a baseline measured in the same run.",
    )
    ap.add_argument("what", nargs="*", metavar="FIGURE",
                    help=f"figures to run: {', '.join(FIGURES)} (default: all of these); "
                    f"{', '.join(ON_REQUEST)} (only when named); "
                    f"or one of {', '.join(TOOLS)}")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run, not a figure to quote")
    ap.add_argument("--scale", type=int, metavar="N",
                    help="profiles in the data the figures derive, sizing, columnar, plans and refresh read "
                    "(default 1,000,000); 10000000 is the big tier")
    ap.add_argument("--output", default=str(RESULTS / "latest.json"), metavar="PATH",
                    help="where to write the JSON results (default: %(default)s)")
    ap.add_argument("--dsn", help="Postgres for `verify`, `derive` and `plans` (default: $SEGDSL_TEST_DSN or "
                    "postgresql://postgres@127.0.0.1/postgres)")
    ap.add_argument("--spark", metavar="DSN", help="the Spark the `spark` figure runs on, e.g. "
                    "spark://HOST:7077?warehouse=DIR or sc://HOST:15002?warehouse=DIR (default: a local session, "
                    "spark://local[2], with its warehouse under bench/results/spark/)")
    args = ap.parse_args(argv)

    unknown = [w for w in args.what if w not in FIGURES + ON_REQUEST + TOOLS]
    if unknown:
        ap.error(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES + ON_REQUEST + TOOLS)}")
    if args.scale is not None:
        if args.quick:
            ap.error("--scale and --quick do not go together (--quick reads 100,000 profiles)")
        if args.scale < 1:
            ap.error("--scale must be positive")
        bigdata.SCALE = args.scale
    if args.spark and "spark" not in args.what:
        ap.error("--spark is for the `spark` figure: python -m bench spark --spark DSN")
    tools = [w for w in args.what if w in TOOLS]
    if tools and len(args.what) > 1:
        ap.error(f"`{tools[0]}` runs alone")

    try:
        if tools == ["profile"]:
            from bench import profile_compile

            return profile_compile.run(log=_log)
        if tools == ["profile-memory"]:
            from bench import profile_memory

            return profile_memory.run(quick=args.quick, log=_log)
        if tools == ["verify"]:
            from bench import verify

            return verify.run(args.dsn, log=_log)
        default = list(SCALED if args.scale not in (None, bigdata.DEFAULT_SCALE) else FIGURES)
        return _figures(args.what or default, args.quick, args.output, args.dsn, args.spark)
    except BenchError as exc:
        print(f"bench: cannot run: {exc}", file=sys.stderr)
        return 3


def _figures(names: list[str], quick: bool, output: str, dsn: str | None = None, spark: str | None = None) -> int:
    import tempfile
    from pathlib import Path

    # `derive` hands the tables it loaded to `sizing` through this directory.
    (RESULTS / "data").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=RESULTS / "data") as workdir:
        return _run_figures(names, quick, output, dsn, Path(workdir), spark)


def _run_figures(names: list[str], quick: bool, output: str, dsn: str | None, workdir, spark: str | None = None
                 ) -> int:
    from pathlib import Path

    started = time.perf_counter()
    env = environment()
    mode = "quick" if quick else "full"
    env["data_scale"] = bigdata.QUICK_SCALE if quick else bigdata.SCALE
    scale_note = ""
    if not quick and bigdata.SCALE != bigdata.DEFAULT_SCALE:
        scale_note = f"; data figures at {bigdata.SCALE:,} profiles"
    print(f"segdsl benchmarks ({mode} run{'; smoke only, do not quote' if quick else ''}{scale_note})")
    print(environment_line(env), flush=True)
    figures = []
    for name in dict.fromkeys(names):  # in the order given, once each
        if name == "compile":
            from bench import compile_time

            figures.append(compile_time.run(quick=quick, log=_log))
        elif name == "derive":
            from bench import derive

            figures.append(derive.run(quick=quick, log=_log, workdir=workdir, dsn=dsn))
        elif name == "row":
            from bench import row_eval

            figures.append(row_eval.run(quick=quick, log=_log))
        elif name == "sizing":
            from bench import sizing

            figures.append(sizing.run(quick=quick, log=_log, workdir=workdir))
        elif name == "columnar":
            from bench import columnar

            figures.append(columnar.run(quick=quick, log=_log))
        elif name == "sequences":
            from bench import sequences

            figures.append(sequences.run(quick=quick, log=_log))
        elif name == "plans":
            from bench import pg_plans

            figures.append(pg_plans.run(quick=quick, log=_log, dsn=dsn))
        elif name == "project":
            from bench import project_check

            figures.append(project_check.run_project(quick=quick, log=_log))
        elif name == "lsp":
            from bench import project_check

            figures.append(project_check.run_lsp(quick=quick, log=_log))
        elif name == "spark":
            from bench import spark_sizing

            figures.append(spark_sizing.run(quick=quick, log=_log, dsn=spark))
        elif name == "refresh":
            from bench import refresh_bench

            figures.append(refresh_bench.run(quick=quick, log=_log, workdir=workdir, dsn=dsn))
        else:
            from bench import startup

            figures.append(startup.run(quick=quick, log=_log))
        print_figure(figures[-1])
    seconds = time.perf_counter() - started

    path = Path(output)
    write_json(path, figures, mode, env, seconds)
    goals = [g for f in figures for g in f.goals]
    missed = [f"{f.name}.{g.name}" for f in figures for g in f.goals if not g.met]
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"\n{len(goals) - len(missed)} of {len(goals)} goals met"
          + (f"; missed: {', '.join(missed)}" if missed else "")
          + f". {seconds:.0f} s. Results: {shown}")
    if any(m.startswith(("derive.", "sizing.", "columnar.")) for m in missed):
        print("Hotspots of the in-memory paths: python -m bench profile-memory")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
