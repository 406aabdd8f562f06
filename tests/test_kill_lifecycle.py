"""kill -9 and races against the lifecycle's writers, as a user's processes meet them.

`segdsl refresh` and `segdsl sync` (files, and the outbox tables on SQLite and on
Postgres) run as processes on a small project and are sent SIGKILL at random moments
of their run, at least 20 times per writer. After every kill the invariants are
checked: a refresh's snapshots all old or all new, and the store's events replay to
them; a segment's sync files one whole set (the manifest describes exactly the lists
on disk), old or new; the outbox exactly the events up to the cursor. After the final,
complete run: no temporary file anywhere, and every change delivered exactly once by
its idempotency key. Then N processes at once on one store and one folder: each that
exits 0 has its effect, the others fail with a clear message, the invariants hold.

The random seed is printed; set SEGDSL_KILL_SEED to replay one.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from fork_runner import ForkRunner
from lifecycle_checks import CONTACT_SCHEMA as SCHEMA
from lifecycle_checks import Receiver, leftovers, read_rows, sync_set
from test_refresh import fresh_pg_schema

from segdsl.lifecycle.refresh import members_in_memory
from segdsl.lifecycle.state import Store, read_store
from segdsl.project.workspace import load_workspace

KILLS = 20
SEGMENTS = ("everyone", "high", "scored")
SEGS = """
segment everyone { refresh daily where score >= 0 or score is null }
segment high { refresh daily where score >= 80 }
segment scored { refresh daily where score >= 50 }
"""


def day(n: int) -> str:
    return (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)).isoformat()


# ------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    forks = ForkRunner(runs, env={"SEGDSL_LOCK_TIMEOUT": "30"})
    yield forks
    forks.close()


@pytest.fixture
def rng():
    seed = int(os.environ.get("SEGDSL_KILL_SEED", random.randrange(2**32)))
    print(f"\nSEGDSL_KILL_SEED={seed}")
    return random.Random(seed)


class Project:
    """A small project with two data sets, ``a`` and ``b``, whose members differ."""

    def __init__(self, root: Path, rng: random.Random):
        self.root = root
        root.mkdir()
        (root / "schema.toml").write_text(SCHEMA)
        (root / "segdsl.toml").write_text('name = "kill"\nschema = "schema.toml"\ndata = "a"\n')
        (root / "segments.seg").write_text(SEGS)
        self.seg = str(root / "segments.seg")
        for name in ("a", "b"):
            (root / name).mkdir()
            with open(root / name / "contacts.csv", "w", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(["contact_id", "email", "phone", "email_opt_in", "sms_opt_in", "push_opt_in", "score"])
                for key in range(1, 401):
                    flag = lambda: rng.choice(["true", "false", ""])  # noqa: E731
                    writer.writerow([key, rng.choice([f"c{key}@example.com", ""]), rng.choice([f"+44{key:07d}", ""]),
                                     flag(), flag(), flag(), rng.choice([rng.randrange(101), ""])])
        ws = load_workspace([root / "segments.seg"])
        assert ws.ok, ws.diagnostics
        self.expected = {
            name: {k: set(v) for k, v in members_in_memory(ws.requested_segments(), ws.schema, root / name,
                                                              dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).items()}
            for name in ("a", "b")
        }
        assert self.expected["a"] != self.expected["b"]


@pytest.fixture
def project(tmp_path, rng):
    return Project(tmp_path / "kill", rng)


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, project, tmp_path):
    """``--state`` arguments and a read-only opener, on the project's own SQLite store or
    on a fresh Postgres schema."""
    if request.param == "sqlite":
        yield [], lambda: read_store(project.root / ".segdsl" / "state.db", "kill")
        return
    dsn = request.getfixturevalue("pg_dsn")
    with fresh_pg_schema(dsn) as state:
        yield ["--state", state], lambda: read_store(state, "kill")


# ------------------------------------------------------------------- helpers


def ok(runner: ForkRunner, *args) -> str:
    code, out, err = runner.run(*args)
    assert code == 0, err
    return out


def replay(events) -> set:
    members: set = set()
    for e in events:
        assert (e.key in members) == (e.change == "exited"), f"{e.key} {e.change} twice in a row"
        (members.add if e.change == "entered" else members.discard)(e.key)
    return members


def check_store(store: Store) -> dict[str, set]:
    """Each segment's members, after checking that its events replay to them, its runs
    account for every event, and no idempotency key repeats."""
    out = {}
    for seg in SEGMENTS:
        members, events, runs = set(store.members(seg)), store.events(seg), store.runs(seg)
        assert replay(events) == members
        assert sum(r.entered + r.exited for r in runs) == len(events)
        assert len({e.idempotency_key for e in events}) == len(events)
        out[seg] = members
    return out


def timed(runner: ForkRunner, *args) -> float:
    started = time.monotonic()
    ok(runner, *args)
    return time.monotonic() - started


def kill_at_random(runner: ForkRunner, rng: random.Random, span: float, *args, writing=None,
                   window=(0.2, 1.0)) -> bool:
    """Start the command and SIGKILL it at a random moment of a run ``span`` long, in
    the ``window`` of it where it writes (the beginning reads the project and the data);
    whether it was killed (not finished first). With ``writing`` (true once the command
    has begun to write its output), every other kill comes at a random moment after that."""
    pid = runner.spawn(*args)
    started = time.monotonic()
    if writing is not None and rng.random() < 0.5:
        while time.monotonic() - started < span and not writing():
            time.sleep(0.0005)
        time.sleep(rng.uniform(0.0, max(0.0, started + span - time.monotonic())))
    else:
        time.sleep(rng.uniform(window[0] * span, window[1] * span))
    os.kill(pid, signal.SIGKILL)  # a child that has finished is a zombie until waited for: no effect
    code = runner.wait(pid)
    out, err = runner.output(pid)
    assert code in (0, -signal.SIGKILL), f"exit {code}: {err}"
    return code == -signal.SIGKILL


def no_leftovers(*folders: Path) -> None:
    for folder in folders:
        assert not leftovers(folder), leftovers(folder)


# ------------------------------------------------------------------- refresh


def test_kill_9_during_refresh(runner, project, store_at, rng):
    state, open_store = store_at
    base = ("refresh", project.seg, "--all", *state)
    ok(runner, *base, "--as-of", day(0), "--data", project.root / "a")
    current, n = "a", 0
    spans = []
    for target in ("b", "a"):
        n += 1
        spans.append(timed(runner, *base, "--as-of", day(n), "--data", project.root / target))
    span, kills, runs = min(spans), 0, n + 1
    tally = {"old": 0, "new": 0, "finished first": 0}
    while kills < KILLS:
        n += 1
        target = "b" if current == "a" else "a"
        # The commit comes last, after evaluating every segment.
        killed = kill_at_random(runner, rng, span, *base, "--as-of", day(n), "--data", project.root / target,
                                window=(0.5, 1.1))
        kills += killed
        store = open_store()
        with store:
            members = check_store(store)
            counts = {seg: len(store.runs(seg)) for seg in SEGMENTS}
        # One transaction: every segment old, or every segment new.
        if members == project.expected[target] and counts == dict.fromkeys(SEGMENTS, runs + 1):
            current, runs = target, runs + 1
            tally["new" if killed else "finished first"] += 1
        else:
            assert killed and members == project.expected[current], f"a torn refresh after kill {kills}"
            assert counts == dict.fromkeys(SEGMENTS, runs)
            tally["old"] += 1
    print(f"refresh kill -9: {kills} kills, span {span:.3f} s, {tally}")
    # The next complete run records what the killed one did not, and leaves nothing behind.
    target = "b" if current == "a" else "a"
    ok(runner, *base, "--as-of", day(n + 1), "--data", project.root / target)
    with open_store() as store:
        assert check_store(store) == project.expected[target]
    no_leftovers(project.root)


# ------------------------------------------------------------------- sync


def _events(store: Store) -> dict[str, tuple]:
    return {seg: store.events(seg) for seg in SEGMENTS}


def _batches(folder: Path) -> list[Path]:
    changes = folder / "changes"
    return sorted(changes.iterdir(), key=lambda p: p.stem) if changes.exists() else []


def _entries(out: Path) -> int:
    """How many change batches and snapshot directories (finished or not) there are."""
    return sum(len(os.listdir(out / seg / d)) for seg in SEGMENTS for d in ("changes", "snapshots")
               if (out / seg / d).is_dir())


def test_kill_9_during_sync_to_files(runner, project, rng):
    out = project.root / "out"
    base = ("sync", project.seg, "--out", out)
    refresh = ("refresh", project.seg, "--all")
    ok(runner, *refresh, "--as-of", day(0), "--data", project.root / "a")
    ok(runner, *base)
    # How long a sync takes, measured as the killed ones will run: after a refresh.
    spans = []
    for n, current in ((1, "b"), (2, "a")):
        ok(runner, *refresh, "--as-of", day(n), "--data", project.root / current)
        spans.append(timed(runner, *base, "--format", ("jsonl", "csv")[n % 2]))
    span = max(spans)
    published = {seg: sync_set(out / seg) for seg in SEGMENTS}
    kills = 0
    tally = {"inside a write": 0, "none new": 0, "some new": 0, "all new": 0}
    store_path = project.root / ".segdsl" / "state.db"
    while kills < KILLS:
        n += 1
        if n % 2:  # new changes to send every other time; the lists are published every time
            current = "b" if current == "a" else "a"
            ok(runner, *refresh, "--as-of", day(n), "--data", project.root / current)
        with read_store(store_path, "kill") as store:
            heads = {seg: store.head(seg) for seg in SEGMENTS}
            cursors = {seg: store.cursor(seg, "messaging") for seg in SEGMENTS}
            last = {seg: (e[-1].event_id if e else 0) for seg, e in _events(store).items()}
        before = set(leftovers(out))
        entries = _entries(out)
        kills += kill_at_random(runner, rng, span, *base, "--format", rng.choice(["jsonl", "csv"]),
                                writing=lambda: _entries(out) != entries)
        with read_store(store_path, "kill") as store:
            moved = {seg: store.cursor(seg, "messaging") for seg in SEGMENTS}
        tally["inside a write"] += bool(set(leftovers(out)) - before)
        renewed = 0
        for seg in SEGMENTS:
            manifest = sync_set(out / seg)  # the files are one whole set ...
            new = manifest["as_of"] == heads[seg].as_of.isoformat().replace("+00:00", "Z") and \
                manifest["cursor"] == last[seg] and manifest["synced_at"] != published[seg]["synced_at"]
            # ... the previous one or the new one, and the cursor never runs ahead of the files.
            assert new or manifest == published[seg], f"{seg}: neither the old set nor the new one"
            assert moved[seg] in (cursors[seg], last[seg]) and (moved[seg] == cursors[seg] or new)
            published[seg] = manifest
            renewed += new
        tally[("none new", "some new", "some new", "all new")[renewed]] += 1
    print(f"sync kill -9: {kills} kills, span {span:.3f} s, {tally}")
    ok(runner, *base)
    no_leftovers(project.root)
    with read_store(store_path, "kill") as store:
        members = check_store(store)
        for seg, events in _events(store).items():
            folder = out / seg
            assert sync_set(folder)["cursor"] == store.cursor(seg, "messaging") == events[-1].event_id
            assert len([p for p in (folder / "snapshots").iterdir()]) <= 3
            receiver = Receiver()
            contents: dict[str, tuple] = {}
            for batch in _batches(folder):
                for change in read_rows(batch):
                    # A change re-sent after a kill is the same change under the same key.
                    ident = (change["key"] and str(change["key"]), change["change"], change["as_of"])
                    assert contents.setdefault(change["idempotency_key"], ident) == ident
                    receiver.apply(change)
            assert receiver.effects == len(events) and receiver.seen == {e.idempotency_key for e in events}
            assert receiver.members.get(seg, set()) == members[seg]


def _outbox(store: Store) -> dict[str, tuple]:
    changes = store._rows("SELECT segment, idempotency_key FROM segdsl_sync_changes WHERE consumer = 'outbox'")
    contacts = store._rows("SELECT segment, key FROM segdsl_sync_contacts WHERE consumer = 'outbox'")
    return {seg: (store.cursor(seg, "outbox"), frozenset(k for s, k in changes if s == seg),
                  frozenset(int(k) for s, k in contacts if s == seg)) for seg in SEGMENTS}


def _outbox_after_sync(store: Store) -> dict[str, tuple]:
    """The outbox a complete sync leaves: every event, the current members."""
    out = {}
    for seg, events in _events(store).items():
        out[seg] = (events[-1].event_id if events else 0, frozenset(e.idempotency_key for e in events),
                    frozenset(store.members(seg)))
    return out


def test_kill_9_during_sync_to_the_outbox(runner, project, store_at, rng):
    state, open_store = store_at
    base = ("sync", project.seg, "--format", "table", "--consumer", "outbox", *state)
    refresh = ("refresh", project.seg, "--all", *state)
    ok(runner, *refresh, "--as-of", day(0), "--data", project.root / "a")
    ok(runner, *base)
    spans = []
    for n, current in ((1, "b"), (2, "a")):
        ok(runner, *refresh, "--as-of", day(n), "--data", project.root / current)
        spans.append(timed(runner, *base))
    span, kills = max(spans), 0
    tally = {"old": 0, "new": 0}
    while kills < KILLS:
        n += 1
        if n % 2:  # new changes to send every other time; the lists are published every time
            current = "b" if current == "a" else "a"
            ok(runner, *refresh, "--as-of", day(n), "--data", project.root / current)
        with open_store() as store:
            before, complete = _outbox(store), _outbox_after_sync(store)
        kills += kill_at_random(runner, rng, span, *base, window=(0.4, 1.1))
        with open_store() as store:
            after = _outbox(store)
        for seg in SEGMENTS:
            assert after[seg] in (before[seg], complete[seg]), f"{seg}: a torn outbox after kill {kills}"
            tally["new" if after[seg] == complete[seg] != before[seg] else "old"] += 1
    print(f"outbox kill -9: {kills} kills, span {span:.3f} s, segments left {tally}")
    ok(runner, *base)
    with open_store() as store:
        check_store(store)
        assert _outbox(store) == _outbox_after_sync(store)
    no_leftovers(project.root)


# ------------------------------------------------------------------- races


RACERS = 4


def race(runner: ForkRunner, *commands) -> list[tuple[int, str, str]]:
    """Start every command at once; their exit codes and outputs."""
    pids = [runner.spawn(*args) for args in commands]
    codes = [runner.wait(pid) for pid in pids]
    return [(code, *runner.output(pid)) for code, pid in zip(codes, pids)]


def test_concurrent_refreshes(runner, project, store_at):
    state, open_store = store_at
    base = ("refresh", project.seg, "--all", "--format", "json", *state)
    # The same as-of: one records it, the others find it recorded.
    done = race(runner, *[(*base, "--as-of", day(0), "--data", project.root / "a")] * RACERS)
    statuses = []
    for code, out, err in done:
        assert code == 0 or (code == 1 and "is locked by another segdsl process" in err), err
        if code == 0:
            statuses.append({r["status"] for r in json.loads(out)["segments"]})
    assert statuses.count({"refreshed"}) == 1 and all(s in ({"refreshed"}, {"already"}) for s in statuses)
    # Different as-ofs and data: each that exits 0 recorded its run (or found a later one).
    done = race(runner, *[(*base, "--as-of", day(i), "--data", project.root / "ab"[i % 2]) for i in range(1, RACERS + 1)])
    with open_store() as store:
        members = check_store(store)
        runs = {seg: {r.as_of.isoformat(): r for r in store.runs(seg)} for seg in SEGMENTS}
        latest = max(runs["scored"])
    for i, (code, out, err) in enumerate(done, start=1):
        assert code == 0 or (code == 1 and "is locked by another segdsl process" in err), err
        if code == 0:
            for row in json.loads(out)["segments"]:
                assert row["status"] in ("refreshed", "behind")
                assert (day(i) in runs[row["segment"]]) == (row["status"] == "refreshed")
    n = int((dt.datetime.fromisoformat(latest) - dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).days)
    assert members == project.expected["ab"[n % 2]]


def test_concurrent_syncs(runner, project, tmp_path):
    out = project.root / "out"
    ok(runner, "refresh", project.seg, "--all", "--as-of", day(0))
    files = ("sync", project.seg, "--out", out, "--report", "json")
    table = ("sync", project.seg, "--format", "table", "--consumer", "outbox", "--report", "json")
    store_path = project.root / ".segdsl" / "state.db"
    for n in (1, 2):
        ok(runner, "refresh", project.seg, "--all", "--as-of", day(n), "--data", project.root / "ab"[n % 2])
        done = race(runner, *[files] * RACERS, *[table] * RACERS)
        # Syncs to one folder take turns (each waits for the folder); syncs to the outbox
        # race on the cursor, and a loser says so.
        assert [code for code, _, _ in done[:RACERS]] == [0] * RACERS, [err for _, _, err in done]
        for code, stdout, err in done:
            assert code == 0 or (code == 1 and "moved the cursor" in err and "run sync again" in err), err
            if code == 0:  # what it reports synced is in the store and on disk
                report = json.loads(stdout)
                with read_store(store_path, "kill") as store:
                    for row in report["segments"]:
                        assert store.cursor(row["segment"], report["consumer"]) >= row["cursor"]
        with read_store(store_path, "kill") as store:
            assert _outbox(store) == _outbox_after_sync(store)
            for seg, events in _events(store).items():
                assert sync_set(out / seg)["cursor"] == store.cursor(seg, "messaging") == events[-1].event_id
                receiver = Receiver()
                for batch in _batches(out / seg):
                    receiver.apply_file(batch)
                assert receiver.effects == len(events) and receiver.members[seg] == set(store.members(seg))
    no_leftovers(project.root)
    # A sync that cannot get the folder in time says so.
    lock = out / ".segdsl-sync.lock"
    import fcntl

    with open(lock) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = runner.run(*files, env={"SEGDSL_LOCK_TIMEOUT": "0.2"})
    assert code == 1 and "is being written by another segdsl sync" in err
