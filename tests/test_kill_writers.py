"""The commands that rewrite a user's file — ``segdsl members``, ``segdsl fmt``,
``segdsl model score`` — under ``kill -9`` at random moments and run many at once.

After every kill the file is the old one or the new one, whole (parsed, or compared
byte for byte); the next run succeeds and leaves no temporary or lock file behind. Run
side by side on one file, every run that exits 0 has its effect in the result, and a run
that cannot get the file in time fails with a clear message.

Processes are forked from a server that has imported segdsl once (``fork_runner``),
so each run starts in milliseconds and twenty kills per writer fit in a few seconds.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from fork_runner import ForkRunner

from segdsl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def forks(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    runner = ForkRunner(logs)
    yield runner
    runner.close()


def finish(forks: ForkRunner, pid: int) -> tuple[int, str]:
    """A run's exit status and everything it printed."""
    code = forks.wait(pid)
    out, err = forks.output(pid)
    return code, out + err


def run(forks: ForkRunner, args, cwd: Path) -> tuple[int, str]:
    return finish(forks, forks.spawn(*args, cwd=cwd))


def leftovers(folder: Path) -> list[str]:
    """Temporary and lock files of segdsl's writers in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".lock")))


#: Seconds each fsync of a killed run takes (a slow disk), so that the moments a
#: temporary file exists are not too short to kill in.
SLOW_DISK = 0.01


def kill_at_random(forks: ForkRunner, args, cwd: Path, watch: Path, span: float, rng: random.Random) -> int:
    """Start a run on a slow disk and SIGKILL it: half the time at a random moment
    within ``span`` seconds, half the time as soon as a temporary file appears in
    ``watch`` (that is, while it writes). Returns its exit status (-9: killed)."""
    while_writing = rng.random() < 0.5
    pid = forks.spawn(*args, cwd=cwd, slow_disk=SLOW_DISK)
    if while_writing:
        # Poll without pausing: the temporary file lives for a few milliseconds.
        deadline = time.monotonic() + 3 * span
        while time.monotonic() < deadline and not any(name.endswith(".tmp") for name in os.listdir(watch)):
            pass
    else:
        time.sleep(span * rng.uniform(0.0, 1.2))
    os.kill(pid, signal.SIGKILL)
    return finish(forks, pid)[0]


def tally_kill(tally: dict, status: int, watch: Path, landed_new: bool) -> None:
    """Count a kill: whether it landed (the run had not finished), and whether it left
    a temporary file (it came while the file was being written)."""
    if status != -signal.SIGKILL:
        return
    tally["killed"] += 1
    tally["new" if landed_new else "old"] += 1
    tally["left_temp"] += any(name.endswith(".tmp") for name in os.listdir(watch))


def timed(forks: ForkRunner, args, cwd: Path, runs: int = 3) -> float:
    """How long a run on the slow disk takes (the shortest of ``runs``: the first warms
    the caches)."""
    spans = []
    for _ in range(runs):
        started = time.monotonic()
        code, out = finish(forks, forks.spawn(*args, cwd=cwd, slow_disk=SLOW_DISK))
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


def test_kill_9_during_members_add(forks, tmp_path):
    project = _members_project(tmp_path, 1000)
    seg = project / "vip.seg"
    span = timed(forks, ["members", "add", "vip.seg", "vip", "1"], project)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    tally = {"killed": 0, "old": 0, "new": 0, "left_temp": 0, "run_seconds": round(span, 3), "seed": seed}
    deadline = time.monotonic() + 60
    key = 100
    while (tally["killed"] < 20 or tally["left_temp"] == 0) and time.monotonic() < deadline:
        key += 1
        before = members_of(seg)
        status = kill_at_random(forks, ["members", "add", "vip.seg", "vip", key], project, project, span, rng)
        after = members_of(seg)
        assert after in (before, before | {key}), f"seed {seed}: a torn member list"
        tally_kill(tally, status, project, after != before)
        if status != -signal.SIGKILL:
            assert status == 0 and key in after
        # The next run succeeds, has its effect, and leaves nothing behind.
        code, out = run(forks, ["members", "add", "vip.seg", "vip", key], project)
        assert code == 0, out
        assert members_of(seg) == before | {key}
        assert leftovers(project) == [], f"seed {seed}"
    print(f"\nmembers add kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_members_edits_all_land(forks, tmp_path):
    project = _members_project(tmp_path, 50)
    seg = project / "vip.seg"
    before = members_of(seg)
    runs = [forks.spawn("members", "add", "vip.seg", "vip", k, cwd=project) for k in range(1, 9)]
    runs += [forks.spawn("members", "remove", "vip.seg", "vip", k, cwd=project) for k in range(10_000, 10_004)]
    outcomes = [finish(forks, pid) for pid in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert members_of(seg) == (before | set(range(1, 9))) - set(range(10_000, 10_004))
    assert leftovers(project) == []


def test_a_writer_that_cannot_get_the_file_says_so_and_changes_nothing(forks, tmp_path):
    project = _members_project(tmp_path, 5)
    seg = project / "vip.seg"
    before = seg.read_bytes()
    lock = project / ".vip.seg.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        runs = [forks.spawn("members", "add", "vip.seg", "vip", k, cwd=project, env={"SEGDSL_LOCK_TIMEOUT": "0.3"})
                for k in (1, 2, 3)]
        runs.append(forks.spawn("fmt", "vip.seg", cwd=project, env={"SEGDSL_LOCK_TIMEOUT": "0.3"}))
        outcomes = [finish(forks, pid) for pid in runs]
    for code, out in outcomes:
        assert code == 1, out
        assert "another segdsl process is writing it" in out and "try again" in out, out
        assert "Traceback" not in out and "internal error" not in out
    assert seg.read_bytes() == before


# -------------------------------------------------------------------------- fmt


def _messy(n: int, variant: int) -> str:
    rules = "\n".join(f"segment s{i} {{where   ltv >= {variant * 1000 + i}  and email_opt_in}}" for i in range(n))
    return "# header\n" + rules + "\n"


def test_kill_9_during_fmt(forks, tmp_path):
    from segdsl.syntax.formatter import format_source

    project = _members_project(tmp_path, 5)
    seg = project / "rules.seg"
    seg.write_text(_messy(150, 0))
    span = timed(forks, ["fmt", "rules.seg"], project)
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
        status = kill_at_random(forks, ["fmt", "rules.seg"], project, project, span, rng)
        now = seg.read_text()
        assert now in (old, new), f"seed {seed}: a torn file"
        tally_kill(tally, status, project, now == new)
        if status != -signal.SIGKILL:
            assert status == 0 and now == new
        code, out = run(forks, ["fmt", "rules.seg"], project)
        assert code == 0, out
        assert seg.read_text() == new
        assert leftovers(project) == [], f"seed {seed}"
    print(f"\nfmt kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_fmt_and_members_add_lose_nothing(forks, tmp_path):
    """fmt reads the file under the lock too: a formatter that started from the text
    before a member was added must not write that text back."""
    project = _members_project(tmp_path, 400)
    seg = project / "vip.seg"
    seg.write_text(seg.read_text().replace("members [", "members   [", 1))  # something to reformat
    before = members_of(seg)
    runs = []
    for k in range(1, 7):
        runs.append(forks.spawn("fmt", "vip.seg", cwd=project))
        runs.append(forks.spawn("members", "add", "vip.seg", "vip", k, cwd=project))
    outcomes = [finish(forks, pid) for pid in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert members_of(seg) == before | set(range(1, 7))
    code, out = run(forks, ["fmt", "--check", "vip.seg"], project)
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


def test_kill_9_during_model_score(forks, tmp_path):
    project = _scoring_project(tmp_path)
    data = project / "data"
    written = ("model_scores.csv", "models/churn.json", "models/engagement.json")
    outputs = {}
    spans = []
    for as_of in ("2026-10-01", "2026-11-01"):
        spans.append(timed(forks, ["model", "score", ".", "--as-of", as_of], project, runs=2))
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
        status = kill_at_random(forks, ["model", "score", ".", "--as-of", other], project, data, span, rng)
        now = {rel: (data / rel).read_bytes() for rel in written}
        for rel in written:  # each file whole: the old run's or the new run's
            assert now[rel] in (outputs[current][rel], outputs[other][rel]), f"seed {seed}: {rel} torn"
        tally_kill(tally, status, data, now["model_scores.csv"] == outputs[other]["model_scores.csv"])
        if status != -signal.SIGKILL:
            assert status == 0 and now == outputs[other]
        code, out = run(forks, ["model", "score", ".", "--as-of", other], project)
        assert code == 0, out
        assert {rel: (data / rel).read_bytes() for rel in written} == outputs[other]
        assert leftovers(data) == [] and leftovers(data / "models") == [], f"seed {seed}"
        current = other
    print(f"\nmodel score kill -9: {tally}")
    assert tally["killed"] >= 20 and tally["old"] > 0 and tally["left_temp"] > 0


def test_concurrent_model_scores_leave_one_whole_run(forks, tmp_path):
    project = _scoring_project(tmp_path)
    data = project / "data"
    written = ("model_scores.csv", "models/churn.json", "models/engagement.json")
    outputs = {}
    days = ("2026-09-01", "2026-10-01", "2026-11-01")
    for as_of in days:
        code, out = run(forks, ["model", "score", ".", "--as-of", as_of], project)
        assert code == 0, out
        outputs[as_of] = {rel: (data / rel).read_bytes() for rel in written}
    # The first run stalls in the middle of its writes (at its second or fourth fsync:
    # after its first file, or its second) while the second, started a little later,
    # writes all of its files: without a lock over the whole set, the first run's
    # remaining files land on top of the second's.
    for stall_at in (2, 4):
        first = forks.spawn("model", "score", ".", "--as-of", days[0], cwd=project, stall=(stall_at, 0.6))
        time.sleep(0.15)
        second = forks.spawn("model", "score", ".", "--as-of", days[1], cwd=project)
        outcomes = [finish(forks, pid) for pid in (first, second)]
        assert all(code == 0 for code, _ in outcomes), outcomes
        now = {rel: (data / rel).read_bytes() for rel in written}
        assert now in (outputs[days[0]], outputs[days[1]]), f"a mix of two runs (stalled at fsync {stall_at})"
        assert leftovers(data) == [] and leftovers(data / "models") == []
    # And six at once, on disks of different speeds.
    runs = [forks.spawn("model", "score", ".", "--as-of", days[i % 3], cwd=project, slow_disk=(0.002, 0.05)[i % 2])
            for i in range(6)]
    outcomes = [finish(forks, pid) for pid in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    now = {rel: (data / rel).read_bytes() for rel in written}
    assert now in list(outputs.values())  # the scores and both reports of one run, not a mix
    assert leftovers(data) == [] and leftovers(data / "models") == []


# ---------------------------------------------------------------- seed generate


def test_concurrent_seed_generate_runs_into_one_folder(forks, tmp_path):
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
    first = forks.spawn(*args(1), cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not (out / ".golf.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    second = forks.spawn(*args(2), cwd=tmp_path)
    (code1, out1), (code2, out2) = [finish(forks, pid) for pid in (first, second)]
    assert code1 == 0, out1
    assert code2 == 1 and "another segdsl process is writing it" in out2, out2
    assert f"cannot write {out / 'golf'}" in out2 and "Traceback" not in out2
    assert tables() == reference[1]
    # Started together: each run that succeeds leaves its tables whole; one that is
    # refused says so.
    for _ in range(3):
        runs = [forks.spawn(*args(seed), cwd=tmp_path) for seed in (1, 2, 1, 2)]
        outcomes = [finish(forks, pid) for pid in runs]
        for code, text in outcomes:
            assert code == 0 or (code == 1 and "another segdsl process is writing it" in text), text
        assert any(code == 0 for code, _ in outcomes)
        assert tables() in (reference[1], reference[2])
        assert sorted(p.name for p in out.iterdir()) == ["golf"]
