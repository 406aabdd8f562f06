"""`segdsl plan`: what a refresh would change, without writing anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from example_projects import copy_example
from segdsl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "crm"
    return copy_example(project, "hospitality")


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--format" in args else {}


def test_plan_matches_the_refresh_it_predicts(tmp_path):
    project = _project(tmp_path)
    files = [str(p) for p in sorted(project.glob("*.seg"))]
    first = _run("plan", *files, "--as-of", "2026-11-01", "--all", "--format", "json")["results"][0]["segments"]
    assert {r["action"] for r in first} == {"create"}
    assert not (project / ".segdsl" / "state.db").exists(), "plan must not create state"

    _run("refresh", *files, "--as-of", "2026-11-01", "--all")
    db = project / ".segdsl" / "state.db"
    stamp = db.stat().st_mtime_ns
    planned = _run("plan", *files, "--as-of", "2026-11-20", "--all", "--format", "json")["results"][0]["segments"]
    assert db.stat().st_mtime_ns == stamp, "plan must not write to the store"
    by_name = {r["segment"]: r for r in planned}
    # Time alone moves guests: nothing in the data changed between the two dates.
    assert by_name["lapsed"]["action"] == "update" and by_name["lapsed"]["entered"] > 0
    assert by_name["win_back"]["journeys"] == ["win_back_offer"]
    assert set(by_name["lapsed"]["journeys"]) == {"win_back_offer", "spa_weekend"}

    applied = _run("refresh", *files, "--as-of", "2026-11-20", "--all", "--format", "json")["segments"]
    for r in applied:
        p = by_name[r["segment"]]
        assert (r["size"], r["entered"], r["exited"]) == (p["size"], p["entered"], p["exited"]), r["segment"]
    again = _run("plan", *files, "--as-of", "2026-11-20", "--format", "json")["results"][0]["segments"]
    assert {r["action"] for r in again} == {"already"}


def test_plan_writes_nowhere(tmp_path, pg_dsn):
    """No table on a fresh Postgres schema, no file or directory beside the project, and
    a store's files exactly as they were: a missing store is "no previous state"."""
    import psycopg
    from test_refresh import fresh_pg_schema

    project = _project(tmp_path)
    config = project / "segdsl.toml"
    config.write_text(config.read_text().replace('name = "hospitality"', 'name = "crm"'))
    files = [str(p) for p in sorted(project.glob("*.seg"))]

    def listing() -> dict:
        # Every path, and each file's contents and time (a directory's time moves while
        # SQLite keeps its -wal and -shm files beside a store it reads).
        return {str(p.relative_to(tmp_path)): None if p.is_dir() else (p.stat().st_mtime_ns, p.read_bytes())
                for p in tmp_path.rglob("*")}

    with fresh_pg_schema(pg_dsn) as dsn:
        before = listing()
        planned = _run("plan", *files, "--as-of", "2026-11-01", "--state", dsn, "--format", "json")
        assert {r["action"] for r in planned["results"][0]["segments"]} == {"create", "manual"}
        # Nor does a sync, which has nothing to send before a refresh.
        synced = CliRunner().invoke(cli, ["sync", *files, "--state", dsn, "--format", "table"])
        assert synced.exit_code == 1 and "run `segdsl refresh` first" in synced.output
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = current_schema()").fetchone()[0] == 0
        shared = tmp_path / "elsewhere" / "state.db"
        _run("plan", *files, "--as-of", "2026-11-01", "--state", str(shared))
        _run("plan", *files, "--as-of", "2026-11-01")
        assert listing() == before, "plan created or changed a file"

        _run("refresh", *files, "--as-of", "2026-11-01", "--state", dsn)
        _run("refresh", *files, "--as-of", "2026-11-01")
        with psycopg.connect(dsn, autocommit=True) as conn:
            counts = conn.execute("SELECT (SELECT count(*) FROM segdsl_runs), (SELECT count(*) FROM segdsl_meta)"
                                  ).fetchone()
        before = listing()
        again = _run("plan", *files, "--as-of", "2026-11-20", "--state", dsn, "--format", "json")
        assert {r["action"] for r in again["results"][0]["segments"]} >= {"update"}
        _run("plan", *files, "--as-of", "2026-11-20")
        assert listing() == before, "plan changed the state store's files"
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT (SELECT count(*) FROM segdsl_runs), (SELECT count(*) FROM segdsl_meta)"
                                ).fetchone() == counts


def _refresh_matches_plan(files, *args: str) -> None:
    """plan, then refresh with the same arguments: the refresh records what plan said."""
    planned = {r["segment"]: r for r in _run("plan", *files, *args, "--format", "json")["results"][0]["segments"]}
    done = _run("refresh", *files, *args, "--format", "json")["segments"]
    assert set(planned) == {r["segment"] for r in done}
    for r in done:
        p = planned[r["segment"]]
        if r["refreshed"]:
            assert p["action"] in ("create", "update", "no change"), (r, p)
            assert (p["size"], p["entered"], p["exited"]) == (r["size"], r["entered"], r["exited"]), (r, p)
        else:
            assert (p["action"], p["reason"]) == (r["status"], r["reason"]), (r, p)
            assert p["entered"] == p["exited"] == 0


def test_plan_predicts_cadence_manual_segments_and_changed_references(tmp_path):
    """The case of issue 16: at 2026-11-02 plan promised `~ lapsed` and `+ board_members`,
    while refresh found lapsed not due (weekly) and board_members manual."""
    project = _project(tmp_path)
    files = [str(p) for p in sorted(project.glob("*.seg"))]
    _refresh_matches_plan(files, "--as-of", "2026-11-01")
    planned = {r["segment"]: r for r in _run("plan", *files, "--as-of", "2026-11-02", "--format", "json")
               ["results"][0]["segments"]}
    assert planned["lapsed"]["action"] == "not due" and planned["board_members"]["action"] == "manual"
    _refresh_matches_plan(files, "--as-of", "2026-11-02")
    _refresh_matches_plan(files, "--as-of", "2026-11-02")  # already refreshed at this as-of
    _refresh_matches_plan(files, "--as-of", "2026-11-03", "--segment", "board_members")
    # A referenced rule changes: lapsed, and the segments that test it, are due at once.
    seg = project / "segments.seg"
    seg.write_text(seg.read_text().replace("days_since_booking >= 180", "days_since_booking >= 150"))
    planned = {r["segment"]: r for r in _run("plan", *files, "--as-of", "2026-11-02T12:00:00", "--format", "json")
               ["results"][0]["segments"]}
    for name in ("lapsed", "win_back", "spa_lovers"):
        assert planned[name]["action"] == "update" and "definition changed" in planned[name]["reason"], name
    assert planned["high_value"]["action"] == "not due"
    _refresh_matches_plan(files, "--as-of", "2026-11-02T12:00:00")
    _refresh_matches_plan(files, "--as-of", "2026-11-10", "--all")
    text = CliRunner().invoke(cli, ["plan", *files, "--as-of", "2026-11-10T01:00:00"]).output
    assert "· lapsed" in text and "not due: weekly, next due 2026-11-17T00:00:00Z" in text


# ------------------------------------------------------------ plan --base REV


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def test_plan_against_a_git_revision(tmp_path):
    import segdsl

    repo = tmp_path / "repo"
    repo.mkdir()
    project = copy_example(repo / "crm", "hospitality")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    seg = project / "segments.seg"
    base_ws = segdsl.load_project(project)
    text = seg.read_text().replace("days_since_booking >= 180", "days_since_booking >= 150")
    cut = text.index('segment gmail_gold')
    text = text[:cut] + text[text.index("static segment board_members"):]
    seg.write_text(text + '\nsegment newbie "New" {\n    where total_bookings = 1\n}\n')
    index_before = (repo / ".git" / "index").read_bytes()

    ws = segdsl.load_project(project)
    preview = segdsl.preview_against(ws, "HEAD", as_of="2026-11-01")
    assert preview.ok and preview.commit == _git(repo, "rev-parse", "HEAD").strip()
    by_name = {c.segment: c for c in preview.segments}
    # lapsed changed; win_back and spa_lovers read it, so they change too.
    assert {n: c.change for n, c in by_name.items()} == {
        "lapsed": "changed", "win_back": "changed", "spa_lovers": "changed", "newbie": "added",
        "gmail_gold": "removed"}
    assert preview.unchanged == len(ws.requested_segments()) - 4
    old = segdsl.members(base_ws, as_of="2026-11-01").members
    new = segdsl.members(ws, as_of="2026-11-01").members
    for name, c in by_name.items():
        a, b = set(new.get(name, ())), set(old.get(name, ()))
        assert (c.size_before, c.size) == (len(b) if name in old else None, len(a) if name in new else None)
        assert (c.entered, c.exited) == (len(a - b), len(b - a)), name

    out = CliRunner().invoke(cli, ["plan", str(seg), "--base", "HEAD", "--as-of", "2026-11-01", "--format",
                                   "markdown"]).output
    assert out.startswith("### segdsl plan: guest segments against `HEAD`")
    lapsed = by_name["lapsed"]
    assert (f"| ~ | `lapsed` (changed) | {lapsed.size_before:,} | {lapsed.size:,} | +{lapsed.entered:,} "
            f"| −{lapsed.exited:,} |") in out
    assert "| - | `gmail_gold` (removed) | 55 | — | +0 | −55 |" in out
    text_out = CliRunner().invoke(cli, ["plan", str(seg), "--base", "HEAD", "--as-of", "2026-11-01"]).output
    assert "  + newbie" in text_out and "5 differ" in text_out
    data = _run("plan", str(seg), "--base", "HEAD", "--as-of", "2026-11-01", "--format", "json")
    assert {s["segment"] for s in data["results"][0]["segments"]} == set(by_name)
    # Nothing written: no state, the index and the work tree as they were.
    assert not (project / ".segdsl").exists()
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert _git(repo, "status", "--porcelain").split() == ["M", "crm/segments.seg"]


def test_plan_base_errors(tmp_path):
    project = copy_example(tmp_path / "crm", "hospitality")
    seg = str(project / "segments.seg")
    outside = CliRunner().invoke(cli, ["plan", seg, "--base", "main"])
    assert outside.exit_code == 2 and "is not in a git repository" in outside.output
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")
    unknown = CliRunner().invoke(cli, ["plan", seg, "--base", "origin/nope"])
    assert unknown.exit_code == 2 and "unknown revision `origin/nope`" in unknown.output
    assert CliRunner().invoke(cli, ["plan", seg, "--base", "--all"]).exit_code == 2
    same = CliRunner().invoke(cli, ["plan", seg, "--base", "HEAD", "--as-of", "2026-11-01"])
    assert same.exit_code == 0 and "0 differ" in same.output
    assert CliRunner().invoke(cli, ["plan", seg, "--format", "markdown"]).exit_code == 2


def test_the_markdown_docs_cli_shows(tmp_path):
    """docs/cli.md's `plan --base` table, for the change it describes."""
    import re

    repo = tmp_path / "repo"
    repo.mkdir()
    project = copy_example(repo / "hospitality", "hospitality")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    seg = project / "segments.seg"
    seg.write_text(seg.read_text().replace("days_since_booking >= 180", "days_since_booking >= 150")
                   + '\nsegment newbie "New" {\n    where total_bookings = 1\n}\n')
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    command, shown = re.search(r"^(segdsl plan examples/hospitality/\*\.seg --base [^\n]*) > plan\.md\n```\n\n```\n"
                               r"(### segdsl plan.*?)```", doc, re.S | re.M).groups()
    args = command.split()[1:]
    files = sorted(str(p) for p in project.glob("*.seg"))
    out = CliRunner().invoke(cli, [args[0], *files, *args[2:]])
    assert out.exit_code == 0, out.output
    commit = _git(repo, "rev-parse", "HEAD").strip()[:12]
    assert out.output.rstrip("\n") == re.sub(r"\(\w{12}\)", f"({commit})", shown, count=1).rstrip("\n")
