"""`segdsl plan`: what a refresh would change, without writing anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from segdsl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "crm"
    shutil.copytree(ROOT / "examples" / "hospitality", project)
    (project / "segdsl.toml").write_text(f'schema = "schema.toml"\ndata = "{ROOT / "seeds" / "hospitality"}"\n')
    return project


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--format" in args else {}


def test_plan_matches_the_refresh_it_predicts(tmp_path):
    project = _project(tmp_path)
    files = [str(p) for p in sorted(project.glob("*.seg"))]
    first = _run("plan", *files, "--as-of", "2026-11-01", "--format", "json")["results"][0]["segments"]
    assert {r["action"] for r in first} == {"create"}
    assert not (project / ".segdsl" / "state.db").exists(), "plan must not create state"

    _run("refresh", *files, "--as-of", "2026-11-01", "--all")
    db = project / ".segdsl" / "state.db"
    stamp = db.stat().st_mtime_ns
    planned = _run("plan", *files, "--as-of", "2026-11-20", "--format", "json")["results"][0]["segments"]
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
    assert {r["action"] for r in again} == {"no change"}


def test_plan_writes_nowhere(tmp_path, pg_dsn):
    """No table on a fresh Postgres schema, no file or directory beside the project, and
    a store's files exactly as they were: a missing store is "no previous state"."""
    import psycopg
    from test_refresh import fresh_pg_schema

    project = _project(tmp_path)
    config = project / "segdsl.toml"
    config.write_text('name = "crm"\n' + config.read_text())
    files = [str(p) for p in sorted(project.glob("*.seg"))]

    def listing() -> dict:
        # Every path, and each file's contents and time (a directory's time moves while
        # SQLite keeps its -wal and -shm files beside a store it reads).
        return {str(p.relative_to(tmp_path)): None if p.is_dir() else (p.stat().st_mtime_ns, p.read_bytes())
                for p in tmp_path.rglob("*")}

    with fresh_pg_schema(pg_dsn) as dsn:
        before = listing()
        planned = _run("plan", *files, "--as-of", "2026-11-01", "--state", dsn, "--format", "json")
        assert {r["action"] for r in planned["results"][0]["segments"]} == {"create"}
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
