"""Refresh and membership state: due-ness by cadence, entered/exited events, atomic and
idempotent commits (including kill -9 at random moments), time moving guests in and
out with no data change, static member edits, and clear errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from segdsl.cli import main as cli_module
from segdsl.backends.memory.columnar import member_keys
from segdsl.backends.memory.profile import load_profile
from segdsl.project.workspace import load_workspace
from segdsl.lifecycle.refresh import definition_hash, plan
from segdsl.lifecycle.state import (
    Run,
    Snapshot,
    StateError,
    decode_key,
    open_postgres,
    open_sqlite,
)
from segdsl.ir.semantics import parse_as_of

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "hospitality"
LIFECYCLE = {
    "refresh": "segdsl.cli.lifecycle:refresh",
    "sync": "segdsl.cli.lifecycle:sync",
    "members": "segdsl.cli.lifecycle:members",
}


# ------------------------------------------------------------------- helpers


def make_runner(monkeypatch):
    """Run the `segdsl` command in process; the lifecycle commands are registered as
    cli.py's LAZY_COMMANDS will register them."""
    for name, target in LIFECYCLE.items():
        monkeypatch.setitem(cli_module.LAZY_COMMANDS, name, target)

    def run(*args, code=0, env=None):
        result = CliRunner().invoke(cli_module.cli, [str(a) for a in args], env=env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        output = result.output
        assert "Traceback" not in output, output
        assert result.exit_code == code, f"exit {result.exit_code}\n{output}"
        return result

    return run


def make_hotel(tmp_path: Path) -> Path:
    """A copy of the hospitality project whose data is the bundled seeds."""
    folder = tmp_path / "hotel"
    folder.mkdir()
    for name in ("schema.toml", "segments.seg", "system.seg"):
        shutil.copy(ROOT / "examples" / "hospitality" / name, folder / name)
    (folder / "segdsl.toml").write_text(f'schema = "schema.toml"\ndata = "{SEEDS.as_posix()}"\n')
    return folder


@contextlib.contextmanager
def fresh_pg_schema(pg_dsn: str):
    """A DSN whose search path is a fresh schema of its own, dropped afterwards."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"segdsl_state_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_conninfo(pg_dsn, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def segdsl(monkeypatch):
    return make_runner(monkeypatch)


@pytest.fixture
def hotel(tmp_path) -> Path:
    return make_hotel(tmp_path)


@pytest.fixture
def pg_state(pg_dsn):
    with fresh_pg_schema(pg_dsn) as dsn:
        yield dsn


def name_project(project: Path, name: str = "hotel") -> Path:
    """Give the project at ``project`` a ``name``, as a shared state store requires."""
    config = project / "segdsl.toml"
    config.write_text(f'name = "{name}"\n' + config.read_text())
    return project


def seg_files(project: Path) -> list[str]:
    return sorted(str(p) for p in project.glob("*.seg"))


def refresh_json(segdsl, project: Path, *args) -> dict:
    out = segdsl("refresh", *seg_files(project), "--format", "json", *args).stdout
    return {row["segment"]: row for row in json.loads(out)["segments"]}


def expected_members(project: Path, names, as_of: dt.datetime) -> dict[str, set]:
    ws = load_workspace([project / "segments.seg"])
    segs = [ws.segments[n] for n in names]
    table = load_profile(ws.schema, ws.project.data_dir, [s.rule for s in segs], as_of)
    return {s.name: set(member_keys(s.rule, table, as_of)) for s in segs}


def replay(events) -> set:
    """The membership the event history describes, applied from nothing."""
    members: set = set()
    for e in events:
        if e.change == "entered":
            assert e.key not in members, f"{e.key} entered twice without exiting"
            members.add(e.key)
        else:
            assert e.key in members, f"{e.key} exited without having entered"
            members.discard(e.key)
    return members


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)


# ------------------------------------------------------------------- due-ness


def _run(segment: str, as_of: dt.datetime, dhash: str) -> Run:
    return Run(1, segment, as_of, 10, 10, 0, "h", dhash, "now")


def test_due_by_cadence_manual_only_when_asked(hotel):
    ws = load_workspace([hotel / "segments.seg"])
    by = ws.segments
    t0 = parse_as_of("2026-11-01T06:00:00Z")
    segs = [by["high_value"], by["lapsed"], by["board_members"],
            attrs.evolve(by["high_value"], name="hourly_one", refresh="hourly")]
    heads = {s.name: _run(s.name, t0, definition_hash(s)) for s in segs}

    def status(as_of, **kw):
        return {p.segment.name: p.status for p in plan(segs, heads, as_of, **kw)}

    assert status(t0 + dt.timedelta(minutes=59)) == {
        "high_value": "not due", "lapsed": "not due", "board_members": "manual", "hourly_one": "not due"}
    assert status(t0 + dt.timedelta(hours=1))["hourly_one"] == "due"
    later = status(t0 + dt.timedelta(days=1))
    assert later == {"high_value": "due", "lapsed": "not due", "board_members": "manual", "hourly_one": "due"}
    assert status(t0 + dt.timedelta(days=6, hours=23))["lapsed"] == "not due"
    assert status(t0 + dt.timedelta(days=7))["lapsed"] == "due"
    # Manual segments: never on their own, always when asked for.
    assert status(t0 + dt.timedelta(days=400))["board_members"] == "manual"
    assert status(t0 + dt.timedelta(days=1), everything=True)["board_members"] == "due"
    assert status(t0 + dt.timedelta(days=1), only={"board_members"})["board_members"] == "due"
    # Never refreshed: due, except manual; the same or an earlier as-of is never redone.
    assert {p.segment.name: p.status for p in plan(segs, {}, t0)} == {
        "high_value": "due", "lapsed": "due", "board_members": "manual", "hourly_one": "due"}
    assert status(t0, everything=True) == dict.fromkeys(heads, "already")
    assert status(t0 - dt.timedelta(days=1), everything=True) == dict.fromkeys(heads, "behind")
    # A changed rule makes a cadenced segment due at once; a manual one only says so.
    changed = {**heads, "lapsed": _run("lapsed", t0, "other"), "board_members": _run("board_members", t0, "x")}
    plans = {p.segment.name: p for p in plan(segs, changed, t0 + dt.timedelta(minutes=1))}
    assert plans["lapsed"].status == "due" and "definition changed" in plans["lapsed"].reason
    assert plans["board_members"].status == "manual" and "--segment board_members" in plans["board_members"].reason


def test_definition_hash_ignores_layout_and_follows_references(hotel):
    ws = load_workspace([hotel / "segments.seg"])
    before = {n: definition_hash(s) for n, s in ws.segments.items()}
    text = (hotel / "segments.seg").read_text()
    (hotel / "segments.seg").write_text("# a comment\n" + text.replace("days_since_booking >= 180",
                                                                          "days_since_booking  >=  180"))
    same = load_workspace([hotel / "segments.seg"])
    assert {n: definition_hash(s) for n, s in same.segments.items()} == before
    (hotel / "segments.seg").write_text(text.replace("days_since_booking >= 180", "days_since_booking >= 181"))
    after = {n: definition_hash(s) for n, s in load_workspace([hotel / "segments.seg"]).segments.items()}
    changed = {n for n in before if before[n] != after[n]}
    # lapsed, and every segment that reads it through `in segment lapsed`.
    assert changed == {"lapsed", "win_back", "spa_lovers"}


# ------------------------------------------------------------------- refresh end to end


def test_refresh_records_entries_and_is_idempotent(segdsl, hotel):
    first = refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    assert (hotel / ".segdsl" / "state.db").is_file()
    assert (hotel / ".segdsl" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert first["board_members"]["refreshed"] is False and first["board_members"]["status"] == "manual"
    refreshed = {n for n, r in first.items() if r["refreshed"]}
    assert refreshed == set(first) - {"board_members"}
    truth = expected_members(hotel, sorted(refreshed), day(0))
    for name in refreshed:
        assert first[name]["size"] == first[name]["entered"] == len(truth[name]) and first[name]["exited"] == 0

    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        n_events = len(store.events("lapsed")) + len(store.events("high_value"))
        assert store.members("lapsed") == truth["lapsed"]
    # The same refresh again: nothing recorded, nothing doubled.
    again = refresh_json(segdsl, hotel, "--as-of", "2026-11-01", "--all")
    assert all(not r["refreshed"] and r["entered"] == r["exited"] == 0 for n, r in again.items() if n in refreshed)
    assert again["lapsed"]["status"] == "already" and again["lapsed"]["size"] == len(truth["lapsed"])
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        assert len(store.events("lapsed")) + len(store.events("high_value")) == n_events
        assert [r.as_of for r in store.runs("lapsed")] == [day(0)]

    # Text output: a table with the status of each segment.
    text = segdsl("refresh", *seg_files(hotel), "--as-of", "2026-11-02").stdout
    assert "refreshed 11 of 13 segments as of 2026-11-02T00:00:00Z" in text
    assert "lapsed" in text and "weekly, next due 2026-11-08T00:00:00Z" in text


def test_time_alone_moves_guests_in_and_out(segdsl, hotel):
    """No data changes between refreshes; only the as-of moves, one day at a time."""
    names = ["high_value", "lapsed", "active_members"]
    before = {p.name: p.stat().st_mtime_ns for p in SEEDS.glob("*.csv")}
    totals = {n: [0, 0] for n in names}
    previous = expected_members(hotel, names, day(0))
    for n in range(15):
        args = ["--as-of", day(n).date().isoformat()] + [a for name in names for a in ("--segment", name)]
        got = refresh_json(segdsl, hotel, *args)
        now = expected_members(hotel, names, day(n))
        for name in names:
            row = got[name]
            assert row["refreshed"]
            if n:
                # Exactly the set differences of the evaluator at the two instants.
                assert row["entered"] == len(now[name] - previous[name])
                assert row["exited"] == len(previous[name] - now[name])
                totals[name][0] += row["entered"]
                totals[name][1] += row["exited"]
        previous = now
    assert {p.name: p.stat().st_mtime_ns for p in SEEDS.glob("*.csv")} == before
    assert totals["high_value"][1] > 0  # last stay slides out of the 365-day window
    assert totals["active_members"][1] > 0
    assert totals["lapsed"][0] > 0  # 180 days since the last stay: guests lapse
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        for name in names:
            events = store.events(name)
            assert replay(events) == set(store.members(name)) == previous[name]
            runs = store.runs(name)
            assert len(runs) == 15 and sum(r.entered + r.exited for r in runs) == len(events)
            # Events are stamped with the as-of that saw the change.
            exits = [e for e in events if e.change == "exited"]
            assert all(day(1) <= e.as_of <= day(14) for e in exits)


def test_due_segments_follow_their_cadence(segdsl, hotel):
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    mid = refresh_json(segdsl, hotel, "--as-of", "2026-11-01T12:00:00Z")
    assert not any(r["refreshed"] for r in mid.values())
    assert mid["high_value"]["next_due"] == "2026-11-02T00:00:00Z"
    nxt = refresh_json(segdsl, hotel, "--as-of", "2026-11-02")
    assert nxt["high_value"]["refreshed"] and not nxt["lapsed"]["refreshed"]
    week = refresh_json(segdsl, hotel, "--as-of", "2026-11-08")
    assert week["lapsed"]["refreshed"] and week["high_value"]["refreshed"]
    assert not week["board_members"]["refreshed"]
    forced = refresh_json(segdsl, hotel, "--as-of", "2026-11-08T01:00:00Z", "--segment", "board_members")
    assert list(forced) == ["board_members"] and forced["board_members"]["entered"] == 3
    segdsl("refresh", *seg_files(hotel), "--segment", "board_membrs", code=2)


def test_static_members_edits_keep_comments_and_record_history(segdsl, hotel):
    seg = hotel / "segments.seg"
    text = seg.read_text().replace(
        "    members [1001, 1002, 1003]",
        "    # kept by the board secretary\n    members [\n        1001, # chair\n        1002,\n        1003,\n    ]",
    )
    seg.write_text(text)
    first = refresh_json(segdsl, hotel, "--as-of", "2026-11-01", "--segment", "board_members")
    assert first["board_members"]["entered"] == 3

    segdsl("members", "add", seg, "board_members", "1004", "1005", "1002")
    segdsl("members", "remove", seg, "board_members", "1003", "999999")
    new = seg.read_text()
    for comment in ("# Hospitality audiences", "# kept by the board secretary", "# chair", "# The churn model"):
        assert comment in new
    segdsl("fmt", "--check", seg)  # the file is in the canonical layout
    segdsl("check", seg)
    ws = load_workspace([seg])
    assert ws.segments["board_members"].members == (1001, 1002, 1004, 1005)
    original = load_workspace([ROOT / "examples/hospitality/segments.seg"]).segments
    # (the copy may hold fewer of the project's files than examples/ does)
    assert set(ws.segments) <= set(original)
    assert all(ws.segments[n].rule == original[n].rule for n in ws.segments if n != "board_members")

    # The manual segment says its definition changed; the forced refresh records it.
    plain = refresh_json(segdsl, hotel, "--as-of", "2026-11-02")
    assert "definition changed" in plain["board_members"]["reason"] and not plain["board_members"]["refreshed"]
    second = refresh_json(segdsl, hotel, "--as-of", "2026-11-02", "--segment", "board_members")
    assert (second["board_members"]["entered"], second["board_members"]["exited"]) == (2, 1)
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        events = store.events("board_members")
    assert [(e.key, e.change) for e in events if e.as_of == day(1)] == [(1003, "exited"), (1004, "entered"),
                                                                       (1005, "entered")]

    csv_file = hotel / "board.csv"
    csv_file.write_text("guest_id,name\n1010,Asha\n1001,Ravi\n\n1010,Asha again\n")
    segdsl("members", "import", seg, "board_members", csv_file, "--replace")
    assert load_workspace([seg]).segments["board_members"].members == (1001, 1010)
    third = refresh_json(segdsl, hotel, "--as-of", "2026-11-03", "--segment", "board_members")
    assert (third["board_members"]["entered"], third["board_members"]["exited"]) == (1, 3)

    # Errors: a rule segment, an unknown segment, a bad key, a bad CSV, no change at all.
    assert "only a static segment" in segdsl("members", "add", seg, "lapsed", "1", code=2).output
    assert "did you mean `board_members`" in segdsl("members", "add", seg, "board_member", "1", code=2).output
    assert "not an integer key" in segdsl("members", "add", seg, "board_members", "１２", code=2).output
    csv_file.write_text("guest_id\n12x\n")
    assert f"{csv_file}:2:" in segdsl("members", "import", seg, "board_members", csv_file, code=1).output
    unchanged = seg.read_bytes()
    segdsl("members", "add", seg, "board_members", "1001")
    assert seg.read_bytes() == unchanged


def test_renaming_the_project_directory_keeps_its_history(segdsl, hotel):
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    moved = hotel.rename(hotel.parent / "renamed")
    after = refresh_json(segdsl, moved, "--as-of", "2026-11-01T12:00:00Z")
    assert not any(r["refreshed"] for r in after.values())  # the same project, nothing due
    assert {r["project"] for r in after.values()} == {"hotel"}


def test_concurrent_commits_of_one_as_of_record_once(tmp_path):
    path = tmp_path / "state.db"
    open_sqlite(path, "p").close()
    results = []

    def commit():
        with open_sqlite(path, "p", timeout=30) as store:
            results.extend(store.commit(day(0), [Snapshot("s", frozenset(range(20_000)), "d")]))

    threads = [threading.Thread(target=commit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.status for c in results) == ["already", "already", "already", "refreshed"]
    with open_sqlite(path, "p") as store:
        assert len(store.events("s")) == 20_000 and len(store.runs("s")) == 1


# ------------------------------------------------------------------- errors


def test_clear_errors_never_tracebacks(segdsl, hotel, tmp_path):
    files = seg_files(name_project(hotel))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = segdsl("refresh", *files, "--state", blocker / "state.db", code=1).output
    assert "cannot create the state store" in out

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite" * 100)
    assert "not a usable segdsl state store" in segdsl("refresh", *files, "--state", corrupt, code=1).output

    segdsl("refresh", *files, "--as-of", "2026-11-01")
    holder = sqlite3.connect(hotel / ".segdsl" / "state.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        out = segdsl("refresh", *files, "--as-of", "2026-11-02", env={"SEGDSL_LOCK_TIMEOUT": "0.2"}, code=1).output
        assert "is locked by another segdsl process" in out
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    out = segdsl("refresh", *files, "--dsn", "postgresql://postgres@127.0.0.1:1/postgres", code=1).output
    assert "cannot connect to Postgres" in out
    segdsl("refresh", *files, "--as-of", "yesterday", code=2)
    fresh = tmp_path / "other"
    shutil.copytree(hotel, fresh, ignore=shutil.ignore_patterns(".segdsl"))
    assert "run `segdsl refresh` first" in segdsl("sync", *seg_files(fresh), code=1).output


# ------------------------------------------------------------------- kill -9

CHILD = textwrap.dedent("""
    import datetime as dt, sys
    from segdsl.lifecycle.state import Snapshot, open_store
    where, lo, hi, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    as_of = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)
    keys = frozenset(range(lo, hi))
    print("begin", flush=True)
    with open_store(where, "kill", timeout=60) as store:
        (done,) = store.commit(as_of, [Snapshot("big", keys, "rule")])
    print(done.status, done.entered, done.exited, flush=True)
""")


def _kill_campaign(where: str, open_, tmp_path: Path, *, size: int, churn: int, kills: int, budget: float) -> dict:
    """Alternate a segment between two big key ranges, SIGKILLing each refresh at a
    random moment; after every kill the store must hold exactly the old snapshot or
    exactly the new one, with runs and events to match."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ranges = [(0, size), (churn, size + churn)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def spawn(target, n):
        lo, hi = ranges[target]
        return subprocess.Popen([sys.executable, str(script), where, str(lo), str(hi), str(n)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def check(expected_runs):
        with open_(where) as store:
            members = set(store.members("big"))
            runs = store.runs("big")
            head = store.head("big")
        assert len(runs) == expected_runs or len(runs) == expected_runs + 1
        return members, runs, head

    def begun(proc) -> float:
        assert proc.stdout.readline().strip() == "begin", proc.stderr.read()
        return time.monotonic()

    # The first refresh fills the store; two clean ones tell how long a commit takes,
    # timed from the child's "begin" (keys built; next: open the store, commit) to its exit.
    proc = spawn(0, 0)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    spans = []
    for target, n in ((1, 1), (0, 2)):
        proc = spawn(target, n)
        started = begun(proc)
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        spans.append(time.monotonic() - started)
    span = min(spans)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    current, n, runs_done = 0, 2, 3
    tally = {"kills": 0, "old": 0, "new": 0, "finished_first": 0, "commit_seconds": round(span, 2), "seed": seed}
    deadline = time.monotonic() + budget
    while tally["kills"] < kills and time.monotonic() < deadline:
        target = 1 - current
        proc = spawn(target, n + 1)
        started = begun(proc)
        time.sleep(max(0.0, started + rng.uniform(0.0, span) - time.monotonic()))
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
            tally["kills"] += 1
        proc.wait(timeout=60)
        members, runs, head = check(runs_done)
        old, new = set(range(*ranges[current])), set(range(*ranges[target]))
        if members == new:
            tally["new" if not finished else "finished_first"] += 1
            assert len(runs) == runs_done + 1 and head.as_of == runs[-1].as_of and head.size == len(new)
            current, n, runs_done = target, n + 1, runs_done + 1
        else:
            assert members == old, f"torn snapshot after kill (seed {seed}): {len(members)} keys"
            assert len(runs) == runs_done and head.size == len(old)
            assert not finished, proc.stderr.read()
            tally["old"] += 1
    # Events agree with the snapshots, run by run.
    with open_(where) as store:
        events = store.events("big")
        runs = store.runs("big")
        assert replay(events) == set(store.members("big"))
        assert sum(r.entered + r.exited for r in runs) == len(events)
        assert len({e.idempotency_key for e in events}) == len(events)
    # A clean re-run of the last committed refresh is a no-op; the next one completes.
    proc = spawn(current, n)
    assert proc.wait(timeout=120) == 0 and proc.stdout.read().split() == ["begin", "already", "0", "0"]
    proc = spawn(1 - current, n + 1)
    assert proc.wait(timeout=120) == 0
    assert proc.stdout.read().split() == ["begin", "refreshed", str(churn), str(churn)]
    with open_(where) as store:
        assert set(store.members("big")) == set(range(*ranges[1 - current]))
        assert len(store.events("big")) == len(events) + 2 * churn
    return tally


def test_kill_9_during_large_sqlite_refresh_never_tears(tmp_path):
    where = str(tmp_path / "state.db")
    tally = _kill_campaign(where, lambda w: open_sqlite(w, "kill"), tmp_path,
                           size=200_000, churn=10_000, kills=20, budget=60)
    print(f"\nSQLite kill -9 campaign: {tally}")
    assert tally["kills"] >= 10 and tally["old"] + tally["new"] == tally["kills"]
    with sqlite3.connect(where) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_9_during_large_postgres_refresh_never_tears(tmp_path, pg_state):
    tally = _kill_campaign(pg_state, lambda w: open_postgres(w, "kill"), tmp_path,
                           size=50_000, churn=5_000, kills=8, budget=20)
    print(f"\nPostgres kill -9 campaign: {tally}")
    assert tally["kills"] >= 4 and tally["old"] + tally["new"] == tally["kills"]


# ------------------------------------------------------------------- Postgres


def test_refresh_on_postgres_matches_memory_and_keeps_state_there(segdsl, hotel, tmp_path, pg_state):
    name_project(hotel)
    segdsl("db", "load", hotel, "--dsn", pg_state)
    memory = tmp_path / "memory.db"
    for as_of in ("2026-11-01", "2026-11-09"):
        on_pg = refresh_json(segdsl, hotel, "--as-of", as_of, "--dsn", pg_state)
        in_mem = refresh_json(segdsl, hotel, "--as-of", as_of, "--state", memory)
        assert {n: (r["size"], r["entered"], r["exited"]) for n, r in on_pg.items()} == \
            {n: (r["size"], r["entered"], r["exited"]) for n, r in in_mem.items()}
    assert not (hotel / ".segdsl").exists()  # the state went to Postgres
    again = refresh_json(segdsl, hotel, "--as-of", "2026-11-09", "--dsn", pg_state, "--all")
    assert again["lapsed"]["status"] == "already"
    with open_postgres(pg_state, "hotel") as store, open_sqlite(memory, "hotel") as local:
        for name in ("lapsed", "high_value", "win_back"):
            assert store.members(name) == local.members(name)
            assert [(e.key, e.change, e.idempotency_key) for e in store.events(name)] == \
                [(e.key, e.change, e.idempotency_key) for e in local.events(name)]


def test_key_encoding_round_trips_text_and_int():
    for key in (0, -5, 2**63 - 1, "", "ab", '"quoted"', "12", "é\u00a0"):
        from segdsl.lifecycle.state import encode_key

        assert decode_key(encode_key(key)) == key and type(decode_key(encode_key(key))) is type(key)
    assert encode_key(12) != encode_key("12")
    with pytest.raises(StateError):
        encode_key(True)
