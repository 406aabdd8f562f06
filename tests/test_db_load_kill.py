"""`segdsl db load` killed with SIGKILL at random moments, and run many times at once,
on every engine: the database always holds one load as a whole.

Each load runs the real command in a process forked from a server that has imported
segdsl already (so a kill can land anywhere in the load, not in Python's start-up).
After each kill every table of the project must be exactly the previous load's or the
new one's (a digest of every row of every table), and readable; the next load must
succeed and leave no table of the killed one behind. N loads of different data started
together must each exit 0 having loaded completely, or fail with a clear message, and
leave exactly one of the loads that succeeded.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segdsl.check.traits import load_schema
from segdsl.data.engines import connect
from segdsl.data.loading import check_loaded

from load_projects import digest, fresh_database, leftovers, make_project

#: Kills per run: at least 20 on the embedded engines, a few on the servers.
KILLS = {"sqlite": 20, "duckdb": 20, "postgres": 5, "mysql": 5}
SEEDS = (1, 2, 3)
CONCURRENT = 3

LAUNCHER = Path(__file__).resolve().parent / "load_launcher.py"


class Launcher:
    """The forking process of tests/load_launcher.py."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(LAUNCHER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self._answer() == "ready"

    def _answer(self) -> str:
        line = self.proc.stdout.readline()
        assert line, "the launcher ended"
        return line.strip()

    def start(self, args: list[str], out: Path) -> int:
        self.proc.stdin.write(f"go {json.dumps([args, str(out)])}\n")
        self.proc.stdin.flush()
        answer = self._answer()
        assert answer.startswith("pid "), answer
        return int(answer.split()[1])

    def wait(self, pid: int) -> int:
        self.proc.stdin.write(f"wait {pid}\n")
        self.proc.stdin.flush()
        answer = self._answer()
        assert answer.startswith("exit "), answer
        return int(answer.split()[1])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def launcher():
    started = Launcher()
    yield started
    started.close()


@pytest.fixture(params=list(KILLS))
def target(request, tmp_path):
    """(engine, the DSN of an empty database on it)."""
    for dsn in fresh_database(request, request.param, tmp_path, "segdsl_kill"):
        yield request.param, dsn


def _start(launcher, project, dsn, seed, out) -> int:
    data = project / ("data" if seed == SEEDS[0] else f"data{seed}")
    return launcher.start(["db", "load", str(project), "--dsn", dsn, "--data", str(data)], out)


def _state(dsn, schema) -> str:
    with connect(dsn) as engine:
        found = digest(engine, schema)
        check_loaded(engine, schema)  # readable: every table there, loaded for this schema
    return found


def test_a_killed_load_leaves_one_load_whole(launcher, target, tmp_path):
    engine, dsn = target
    project = make_project(tmp_path / "p", guests=40, seeds=SEEDS)
    schema, diagnostics = load_schema(project / "schema.toml")
    assert schema is not None, diagnostics
    out = tmp_path / "out.txt"

    # Each data set's digest, from a complete load, and how long a load takes.
    loaded, took = {}, []
    for seed in SEEDS:
        started = time.monotonic()
        code = launcher.wait(_start(launcher, project, dsn, seed, out))
        took.append(time.monotonic() - started)
        assert code == 0, out.read_text()
        loaded[seed] = _state(dsn, schema)
    assert len(set(loaded.values())) == len(SEEDS)
    state, last = loaded[SEEDS[-1]], SEEDS[-1]

    # Loads started together: each exits 0 or fails with a clear message, and the
    # database holds exactly one of the loads that exited 0.
    outs = [tmp_path / f"out{i}.txt" for i in range(CONCURRENT)]
    runs = [_start(launcher, project, dsn, seed, o) for seed, o in zip(SEEDS, outs)]
    codes = [launcher.wait(pid) for pid in runs]
    done = [seed for seed, code in zip(SEEDS, codes) if code == 0]
    for code, o in zip(codes, outs):
        text = o.read_text()
        assert code in (0, 1), (code, text)
        assert "internal error" not in text and "Traceback" not in text, text
        if code == 1:
            assert text.startswith("segdsl: cannot open"), text  # DuckDB: one process per file
    assert done, [o.read_text() for o in outs]
    state = _state(dsn, schema)
    assert state in {loaded[seed] for seed in done}
    last = next(seed for seed in SEEDS if loaded[seed] == state)
    with connect(dsn) as db:
        assert leftovers(db, schema) == []

    # Kills at random moments of a load; the next seed's data each time.
    rng = random.Random(f"{engine}-kills")
    span = max(took) * 1.2
    outcomes = {"old": 0, "new": 0}
    for k in range(KILLS[engine]):
        seed = SEEDS[(SEEDS.index(last) + 1) % len(SEEDS)]
        pid = _start(launcher, project, dsn, seed, out)
        time.sleep(rng.uniform(0, span))
        os.kill(pid, signal.SIGKILL)
        launcher.wait(pid)
        found = _state(dsn, schema)
        assert found in (state, loaded[seed]), f"kill {k} ({engine}): the tables are neither load as a whole"
        outcomes["new" if found == loaded[seed] else "old"] += 1
        state, last = found, (seed if found == loaded[seed] else last)

    # The next load succeeds and leaves nothing of the killed ones behind.
    seed = SEEDS[(SEEDS.index(last) + 1) % len(SEEDS)]
    assert launcher.wait(_start(launcher, project, dsn, seed, out)) == 0, out.read_text()
    assert _state(dsn, schema) == loaded[seed]
    with connect(dsn) as db:
        assert leftovers(db, schema) == []
        record = db.execute("SELECT entity_table FROM segdsl_loads")
        assert record == [("guests",)]
    # The kills landed before and after the swap, or the test proved little (with a
    # few kills, all may land on one side).
    assert (outcomes["old"] and outcomes["new"]) or KILLS[engine] < 20, outcomes
