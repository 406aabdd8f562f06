"""A project's identity in a shared state store is its `name` in segdsl.toml, never the
directory it is checked out in: two checkouts of one project under different directory
names share its history and send each change once, under one idempotency key; without a
name, a shared store refuses to guess (and writes nothing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_refresh import fresh_pg_schema, make_hotel, make_runner, refresh_json, seg_files

from segdsl.lifecycle.state import open_postgres, open_sqlite


@pytest.fixture
def segdsl(monkeypatch):
    return make_runner(monkeypatch)


@pytest.fixture
def pg_state(pg_dsn):
    with fresh_pg_schema(pg_dsn) as dsn:
        yield dsn


def _checkout(tmp_path: Path, directory: str, name: str | None) -> Path:
    """A copy of the hospitality project in ``tmp_path/directory``, named ``name``."""
    folder = tmp_path / directory
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = tmp_path / ".staging" / directory
    staging.mkdir(parents=True)
    shutil.move(make_hotel(staging), folder)
    if name is not None:
        config = folder / "segdsl.toml"
        config.write_text(f'name = "{name}"\n' + config.read_text())
    return folder


def _tables(dsn: str) -> list[str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]


def _sync(segdsl, project: Path, *args) -> dict:
    out = segdsl("sync", *seg_files(project), "--report", "json", *args).stdout
    return {r["segment"]: r for r in json.loads(out)["segments"]}


def test_two_checkouts_of_a_named_project_share_its_state(segdsl, tmp_path, pg_state):
    a = _checkout(tmp_path, "hotel", "hospitality-crm")
    b = _checkout(tmp_path, "elsewhere/hotel-copy", "hospitality-crm")
    first = refresh_json(segdsl, a, "--as-of", "2026-11-01", "--state", pg_state)
    assert {r["project"] for r in first.values()} == {"hospitality-crm"}
    _sync(segdsl, a, "--state", pg_state, "--format", "table")
    # The other checkout continues the same history: nothing is due, nobody enters again.
    again = refresh_json(segdsl, b, "--as-of", "2026-11-01T06:00:00Z", "--state", pg_state)
    assert not any(r["refreshed"] for r in again.values())
    later = refresh_json(segdsl, b, "--as-of", "2026-11-09", "--state", pg_state)
    synced = _sync(segdsl, b, "--state", pg_state, "--format", "table")
    for name, row in later.items():
        if row["refreshed"]:
            assert (synced[name]["entered"], synced[name]["exited"]) == (row["entered"], row["exited"])
    with open_postgres(pg_state, "hospitality-crm") as store:
        keys = store._rows("SELECT idempotency_key FROM segdsl_sync_changes")
        events = store._rows("SELECT idempotency_key FROM segdsl_events")
        runs = store._rows("SELECT DISTINCT project FROM segdsl_runs")
    # Every change delivered once, under the key the store recorded for it.
    assert sorted(keys) == sorted(events) and len(set(keys)) == len(keys) > 0
    assert runs == [("hospitality-crm",)]


def test_a_shared_store_needs_a_name_and_says_so(segdsl, tmp_path, pg_state):
    a = _checkout(tmp_path, "hotel", None)
    files = seg_files(a)
    out = segdsl("refresh", *files, "--as-of", "2026-11-01", "--state", pg_state, code=1).output
    assert "has no `name`" in out and 'name = "hotel"' in out and "Traceback" not in out
    assert _tables(pg_state) == [], "a refused refresh must write nothing"
    assert "has no `name`" in segdsl("plan", *files, "--state", pg_state, code=1).output
    # A SQLite file outside the checkout is shared the same way.
    shared = tmp_path / "shared.db"
    assert "has no `name`" in segdsl("refresh", *files, "--state", shared, code=1).output
    assert not shared.exists()
    # A store holding history under the directory's old name points to it.
    named = _checkout(tmp_path, "named", "hotel")
    refresh_json(segdsl, named, "--as-of", "2026-11-01", "--state", pg_state)
    b = _checkout(tmp_path, "hotel-2", None)
    out = segdsl("refresh", *seg_files(b), "--as-of", "2026-11-02", "--state", pg_state, code=1).output
    assert "holds history for: `hotel`" in out and 'name = "hotel-2"' in out
    # The project's own store needs no name: it lives in the checkout.
    refresh_json(segdsl, a, "--as-of", "2026-11-01")


def test_the_own_store_keeps_its_name_and_refuses_a_silent_switch(segdsl, tmp_path):
    a = _checkout(tmp_path, "hotel", None)
    refresh_json(segdsl, a, "--as-of", "2026-11-01")
    config = a / "segdsl.toml"
    config.write_text('name = "crm"\n' + config.read_text())
    out = segdsl("refresh", *seg_files(a), "--as-of", "2026-11-02", code=1).output
    assert "as `hotel`" in out and 'name = "hotel"' in out
    config.write_text(config.read_text().replace('name = "crm"', 'name = "hotel"'))
    assert refresh_json(segdsl, a, "--as-of", "2026-11-02")["high_value"]["project"] == "hotel"
    with open_sqlite(a / ".segdsl" / "state.db", "hotel") as store:
        assert store.projects() == ["hotel"]


def test_a_bad_name_is_a_diagnostic(segdsl, tmp_path):
    a = _checkout(tmp_path, "hotel", None)
    config = a / "segdsl.toml"
    config.write_text("name = 7\n" + config.read_text())
    out = segdsl("refresh", *seg_files(a), code=1).output
    assert "E0303" in out and "`name` must be" in out
