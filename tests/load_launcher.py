"""Started by tests/test_db_load_kill.py: forks `segdsl db load` runs on request from a
process that has imported segdsl and run one small load already, so a run starts warm
(modules imported, the parser built) and a kill lands in the load itself rather than in
start-up.

Requests on stdin, one a line: `go ["ARG", ...] OUT` forks a run of `segdsl ARGS` with
its output in the file OUT and answers `pid N`; `wait N` answers `exit CODE` once run
N ends (a negative code: the signal that ended it).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_projects import AS_OF, make_project, run_cli  # noqa: E402

from segdsl.api import load_database  # noqa: E402
from segdsl.backends.sql import compile_rule  # noqa: E402
from segdsl.check.traits import load_schema  # noqa: E402
from segdsl import ir  # noqa: E402


def _warm() -> None:
    import duckdb  # noqa: F401 - imported once here, not in every run
    import psycopg  # noqa: F401
    import pymysql  # noqa: F401

    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder) / "p", guests=2)
        load_database(project, "sqlite::memory:")
        schema, _ = load_schema(project / "schema.toml")
        for dialect in ("postgres", "mysql", "duckdb", "sqlite"):
            compile_rule(ir.Const(True), schema, target=dialect, form="count", as_of=AS_OF)


def main() -> None:
    _warm()
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "go":
            args, out = json.loads(rest)
            pid = os.fork()
            if pid == 0:
                run_cli(args, out)  # never returns
            print(f"pid {pid}", flush=True)
        elif command == "wait":
            _, status = os.waitpid(int(rest), 0)
            print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    main()
