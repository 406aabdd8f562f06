"""The commands that rewrite a user's file — ``segdsl members``, ``segdsl fmt``,
``segdsl model score`` — under ``kill -9`` at random moments and run many at once.

After every kill the file is the old one or the new one, whole (parsed, or compared
byte for byte); the next run succeeds and leaves no temporary or lock file behind. Run
side by side on one file, every run that exits 0 has its effect in the result, and a run
that cannot get the file in time fails with a clear message.

Processes are forked from a server that has imported segdsl once, so each run starts
in milliseconds and twenty kills per writer fit in a few seconds.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from segdsl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent

SERVER = textwrap.dedent("""
    import json, os, sys
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy  # noqa: F401 - loaded once, before any fork
    from segdsl.cli.main import cli, LAZY_COMMANDS
    import importlib
    for name in ("fmt", "members", "model"):
        importlib.import_module(LAZY_COMMANDS[name].split(":")[0])
    import segdsl.models, segdsl.project.members, segdsl.syntax.formatter  # noqa: F401
    from segdsl.syntax.parser import lark_parser
    lark_parser("module")
    reply = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "wait":
            _, status = os.waitpid(req["pid"], 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            reply.write(json.dumps({"status": code}) + "\\n")
            reply.flush()
            continue
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(req["cwd"])
                os.environ.update(req.get("env", {}))
                if req.get("slow_disk") or req.get("stall"):
                    # A slow disk: each fsync takes a while, so kills often land mid-write;
                    # or one that stalls once, at the n-th fsync, for a while.
                    import itertools, time
                    fsync, pause, count = os.fsync, req.get("slow_disk") or 0.0, itertools.count(1)
                    stall_at, stall = req.get("stall") or (0, 0.0)

                    def slow_fsync(fd):
                        time.sleep(pause + (stall if next(count) == stall_at else 0.0))
                        return fsync(fd)
                    os.fsync = slow_fsync
                out = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                cli.main(req["args"], prog_name="segdsl")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                code = 99
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(locals().get("code", 99))
        reply.write(json.dumps({"pid": pid}) + "\\n")
        reply.flush()
""")


class Server:
    """Runs ``segdsl`` commands as forked processes; ``start`` returns a run's pid at
    once, ``wait`` its exit status (negative: killed by that signal)."""

    def __init__(self, tmp: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True)
        self.tmp = tmp
        self.runs = 0

    def _ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)

    def start(self, args, cwd: Path, env: dict | None = None, slow_disk: float = 0.0,
              stall: tuple[int, float] | None = None) -> tuple[int, Path]:
        """Start a run; ``slow_disk``: seconds every fsync takes; ``stall``: (n, seconds)
        the n-th fsync takes besides."""
        self.runs += 1
        out = self.tmp / f"run-{self.runs}.out"
        pid = self._ask({"op": "run", "args": [str(a) for a in args], "cwd": str(cwd), "out": str(out),
                         "env": env or {}, "slow_disk": slow_disk, "stall": stall})["pid"]
        return pid, out

    def wait(self, pid: int) -> int:
        return self._ask({"op": "wait", "pid": pid})["status"]

    def run(self, args, cwd: Path, env: dict | None = None) -> tuple[int, str]:
        pid, out = self.start(args, cwd, env)
        code = self.wait(pid)
        return code, out.read_text()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    s = Server(logs)
    yield s
    s.close()


def leftovers(folder: Path) -> list[str]:
    """Temporary and lock files of segdsl's writers in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".lock")))


#: Seconds each fsync of a killed run takes (a slow disk), so that the moments a
#: temporary file exists are not too short to kill in.
SLOW_DISK = 0.01


def kill_at_random(server: Server, args, cwd: Path, watch: Path, span: float, rng: random.Random) -> int:
    """Start a run on a slow disk and SIGKILL it: half the time at a random moment
    within ``span`` seconds, half the time as soon as a temporary file appears in
    ``watch`` (that is, while it writes). Returns its exit status (-9: killed)."""
    while_writing = rng.random() < 0.5
    pid, _ = server.start(args, cwd, slow_disk=SLOW_DISK)
    if while_writing:
        # Poll without pausing: the temporary file lives for a few milliseconds.
        deadline = time.monotonic() + 3 * span
        while time.monotonic() < deadline and not any(name.endswith(".tmp") for name in os.listdir(watch)):
            pass
    else:
        time.sleep(span * rng.uniform(0.0, 1.2))
    os.kill(pid, signal.SIGKILL)
    return server.wait(pid)


def tally_kill(tally: dict, status: int, watch: Path, landed_new: bool) -> None:
    """Count a kill: whether it landed (the run had not finished), and whether it left
    a temporary file (it came while the file was being written)."""
    if status != -signal.SIGKILL:
        return
    tally["killed"] += 1
    tally["new" if landed_new else "old"] += 1
    tally["left_temp"] += any(name.endswith(".tmp") for name in os.listdir(watch))


def timed(server: Server, args, cwd: Path, runs: int = 3) -> float:
    """How long a run on the slow disk takes (the shortest of ``runs``: the first warms
    the caches)."""
    spans = []
    for _ in range(runs):
        started = time.monotonic()
        pid, out = server.start(args, cwd, slow_disk=SLOW_DISK)
        code, out = server.wait(pid), out.read_text()
        assert code == 0, out
        spans.append(time.monotonic() - started)
    return min(spans)


# ---------------------------------------------------------------------- members


def _members_project(tmp_path: Path, n: int) -> Path:
    project = tmp_path / "hotel"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "hospitality" / "schema.toml", project / "schema.toml")
    (project / "segdsl.toml").write_text('schema = "schema.toml"\n')
    keys = ",\n        ".join(str(k) for k in range(10_000, 10_000 + n))
    (project / "vip.seg").write_text(f"# the board\nstatic segment vip {{\n    members [\n        {keys},\n    ]\n}}\n")
    return project


def members_of(path: Path) -> set:
    from segdsl.syntax import ast

    parsed = parse_source(str(path), path.read_text())
    assert parsed.module is not None, parsed.diagnostics  # whole: it parses
    (seg,) = parsed.module.segments
    return {item.value for item in seg.clause(ast.Members).items.items}


def test_kill_9_during_members_add(server, tmp_path):
    project = _members_project(tmp_path, 1000)
    seg = project / "vip.seg"
    span = timed(server, ["members", "add", "vip.seg", "vip", "1"], project)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    tally = {"killed": 0, "old": 0, "new": 0, "left_temp": 0, "run_seconds": round(span, 3), "seed": seed}
    deadline = time.monotonic() + 60
    key = 100
    while (tally["killed"] < 20 or tally["left_temp"] == 0) and time.monotonic() < deadline:
        key += 1
        before = members_of(seg)
        status = kill_at_random(server, ["members", "add", "vip.seg", "vip", key], project, project, span, rng)
        after = members_of(seg)
        assert after in (before, before | {key}), f"seed {seed}: a torn member list"
        tally_kill(tally, status, project, after != before)
        if status != -signal.SIGKILL:
            assert status == 0 and key in after
        # The next run succeeds, has its effect, and leaves nothing behind.
        code, out = server.run(["members", "add", "vip.seg", "vip", key], project)
        assert code == 0, out
        assert members_of(seg) == before | {key}
        assert leftovers(project) == [], f"seed {seed}"
    print(f"\nmembers add kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_members_edits_all_land(server, tmp_path):
    project = _members_project(tmp_path, 50)
    seg = project / "vip.seg"
    before = members_of(seg)
    runs = [server.start(["members", "add", "vip.seg", "vip", k], project) for k in range(1, 9)]
    runs += [server.start(["members", "remove", "vip.seg", "vip", k], project) for k in range(10_000, 10_004)]
    outcomes = [(server.wait(pid), out.read_text()) for pid, out in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert members_of(seg) == (before | set(range(1, 9))) - set(range(10_000, 10_004))
    assert leftovers(project) == []


def test_a_writer_that_cannot_get_the_file_says_so_and_changes_nothing(server, tmp_path):
    project = _members_project(tmp_path, 5)
    seg = project / "vip.seg"
    before = seg.read_bytes()
    lock = project / ".vip.seg.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        runs = [server.start(["members", "add", "vip.seg", "vip", k], project, env={"SEGDSL_LOCK_TIMEOUT": "0.3"})
                for k in (1, 2, 3)]
        runs.append(server.start(["fmt", "vip.seg"], project, env={"SEGDSL_LOCK_TIMEOUT": "0.3"}))
        outcomes = [(server.wait(pid), out.read_text()) for pid, out in runs]
    for code, out in outcomes:
        assert code == 1, out
        assert "another segdsl process is writing it" in out and "try again" in out, out
        assert "Traceback" not in out and "internal error" not in out
    assert seg.read_bytes() == before


# -------------------------------------------------------------------------- fmt


def _messy(n: int, variant: int) -> str:
    rules = "\n".join(f"segment s{i} {{where   ltv >= {variant * 1000 + i}  and email_opt_in}}" for i in range(n))
    return "# header\n" + rules + "\n"


def test_kill_9_during_fmt(server, tmp_path):
    from segdsl.syntax.formatter import format_source

    project = _members_project(tmp_path, 5)
    seg = project / "rules.seg"
    seg.write_text(_messy(150, 0))
    span = timed(server, ["fmt", "rules.seg"], project)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    tally = {"killed": 0, "old": 0, "new": 0, "left_temp": 0, "run_seconds": round(span, 3), "seed": seed}
    deadline = time.monotonic() + 60
    variant = 0
    while (tally["killed"] < 20 or tally["left_temp"] == 0) and time.monotonic() < deadline:
        variant += 1
        old = _messy(150, variant)
        new, _ = format_source(old)
        seg.write_text(old)
        status = kill_at_random(server, ["fmt", "rules.seg"], project, project, span, rng)
        now = seg.read_text()
        assert now in (old, new), f"seed {seed}: a torn file"
        tally_kill(tally, status, project, now == new)
        if status != -signal.SIGKILL:
            assert status == 0 and now == new
        code, out = server.run(["fmt", "rules.seg"], project)
        assert code == 0, out
        assert seg.read_text() == new
        assert leftovers(project) == [], f"seed {seed}"
    print(f"\nfmt kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_fmt_and_members_add_lose_nothing(server, tmp_path):
    """fmt reads the file under the lock too: a formatter that started from the text
    before a member was added must not write that text back."""
    project = _members_project(tmp_path, 400)
    seg = project / "vip.seg"
    seg.write_text(seg.read_text().replace("members [", "members   [", 1))  # something to reformat
    before = members_of(seg)
    runs = []
    for k in range(1, 7):
        runs.append(server.start(["fmt", "vip.seg"], project))
        runs.append(server.start(["members", "add", "vip.seg", "vip", k], project))
    outcomes = [(server.wait(pid), out.read_text()) for pid, out in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert members_of(seg) == before | set(range(1, 7))
    code, out = server.run(["fmt", "--check", "vip.seg"], project)
    assert code == 0, out
    assert leftovers(project) == []


# ------------------------------------------------------------------ model score


def _scoring_project(tmp_path: Path) -> Path:
    """The golf project on a small synthetic CRM, with the committed model reports."""
    from segdsl.data import synth
    from segdsl.ir.semantics import parse_as_of

    project = tmp_path / "golf"
    project.mkdir()
    for f in (ROOT / "examples" / "golf").iterdir():
        if f.is_file():
            shutil.copy(f, project / f.name)
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n')
    data = project / "data"
    synth.generate("golf", data, n=80, seed=3, as_of=parse_as_of("2026-11-01"))
    shutil.copytree(ROOT / "seeds" / "golf" / "models", data / "models")
    return project


def test_kill_9_during_model_score(server, tmp_path):
    project = _scoring_project(tmp_path)
    data = project / "data"
    written = ("model_scores.csv", "models/churn.json", "models/engagement.json")
    outputs = {}
    spans = []
    for as_of in ("2026-10-01", "2026-11-01"):
        spans.append(timed(server, ["model", "score", ".", "--as-of", as_of], project, runs=2))
        outputs[as_of] = {rel: (data / rel).read_bytes() for rel in written}
    assert outputs["2026-10-01"]["model_scores.csv"] != outputs["2026-11-01"]["model_scores.csv"]
    span = min(spans)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    tally = {"killed": 0, "old": 0, "new": 0, "left_temp": 0, "run_seconds": round(span, 3), "seed": seed}
    deadline = time.monotonic() + 60
    current = "2026-11-01"
    while (tally["killed"] < 20 or tally["left_temp"] == 0) and time.monotonic() < deadline:
        other = "2026-10-01" if current == "2026-11-01" else "2026-11-01"
        status = kill_at_random(server, ["model", "score", ".", "--as-of", other], project, data, span, rng)
        now = {rel: (data / rel).read_bytes() for rel in written}
        for rel in written:  # each file whole: the old run's or the new run's
            assert now[rel] in (outputs[current][rel], outputs[other][rel]), f"seed {seed}: {rel} torn"
        tally_kill(tally, status, data, now["model_scores.csv"] == outputs[other]["model_scores.csv"])
        if status != -signal.SIGKILL:
            assert status == 0 and now == outputs[other]
        code, out = server.run(["model", "score", ".", "--as-of", other], project)
        assert code == 0, out
        assert {rel: (data / rel).read_bytes() for rel in written} == outputs[other]
        assert leftovers(data) == [] and leftovers(data / "models") == [], f"seed {seed}"
        current = other
    print(f"\nmodel score kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_model_scores_leave_one_whole_run(server, tmp_path):
    project = _scoring_project(tmp_path)
    data = project / "data"
    written = ("model_scores.csv", "models/churn.json", "models/engagement.json")
    outputs = {}
    days = ("2026-09-01", "2026-10-01", "2026-11-01")
    for as_of in days:
        code, out = server.run(["model", "score", ".", "--as-of", as_of], project)
        assert code == 0, out
        outputs[as_of] = {rel: (data / rel).read_bytes() for rel in written}
    # The first run stalls in the middle of its writes (at its second or fourth fsync:
    # after its first file, or its second) while the second, started a little later,
    # writes all of its files: without a lock over the whole set, the first run's
    # remaining files land on top of the second's.
    for stall_at in (2, 4):
        first = server.start(["model", "score", ".", "--as-of", days[0]], project, stall=(stall_at, 0.6))
        time.sleep(0.15)
        second = server.start(["model", "score", ".", "--as-of", days[1]], project)
        outcomes = [(server.wait(pid), out.read_text()) for pid, out in (first, second)]
        assert all(code == 0 for code, _ in outcomes), outcomes
        now = {rel: (data / rel).read_bytes() for rel in written}
        assert now in (outputs[days[0]], outputs[days[1]]), f"a mix of two runs (stalled at fsync {stall_at})"
        assert leftovers(data) == [] and leftovers(data / "models") == []
    # And six at once, on disks of different speeds.
    runs = [server.start(["model", "score", ".", "--as-of", days[i % 3]], project, slow_disk=(0.002, 0.05)[i % 2])
            for i in range(6)]
    outcomes = [(server.wait(pid), out.read_text()) for pid, out in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    now = {rel: (data / rel).read_bytes() for rel in written}
    assert now in list(outputs.values())  # the scores and both reports of one run, not a mix
    assert leftovers(data) == [] and leftovers(data / "models") == []


# ---------------------------------------------------------------- seed generate


def test_concurrent_seed_generate_runs_into_one_folder(server, tmp_path):
    """Two runs into one --out: the second is refused while the first writes, and the
    folder holds the tables of one run, whole."""
    from segdsl.data import synth
    from segdsl.ir.semantics import parse_as_of

    out = tmp_path / "out"
    reference = {}
    for seed in (1, 2):
        folder = tmp_path / f"ref{seed}"
        synth.generate("golf", folder, n=2000, seed=seed, as_of=parse_as_of("2026-11-01"))
        reference[seed] = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert reference[1] != reference[2]

    def args(seed):
        return ["seed", "generate", "--domain", "golf", "--scale", "2000", "--seed", seed, "--out", out]

    def tables():
        return {p.name: p.read_bytes() for p in (out / "golf").iterdir()}

    # The second starts while the first holds the folder.
    out.mkdir()
    first = server.start(args(1), tmp_path)
    deadline = time.monotonic() + 30
    while not (out / ".golf.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    second = server.start(args(2), tmp_path)
    (code1, out1), (code2, out2) = [(server.wait(pid), log.read_text()) for pid, log in (first, second)]
    assert code1 == 0, out1
    assert code2 == 1 and "another segdsl process is writing it" in out2, out2
    assert f"cannot write {out / 'golf'}" in out2 and "Traceback" not in out2
    assert tables() == reference[1]
    # Started together: each run that succeeds leaves its tables whole; one that is
    # refused says so.
    for _ in range(3):
        runs = [server.start(args(seed), tmp_path) for seed in (1, 2, 1, 2)]
        outcomes = [(server.wait(pid), log.read_text()) for pid, log in runs]
        for code, text in outcomes:
            assert code == 0 or (code == 1 and "another segdsl process is writing it" in text), text
        assert any(code == 0 for code, _ in outcomes)
        assert tables() in (reference[1], reference[2])
        assert sorted(p.name for p in out.iterdir()) == ["golf"]
