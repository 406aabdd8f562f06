"""Nothing a user writes changes meaning: every example segment's members, in memory and
on every engine, are those recorded before the code was reorganised by stage.

``tests/golden/members/examples.json`` holds, per domain, as-of instant and segment, the
member count and a digest of the sorted member keys, recorded with the code as it stood
before the move (a DST night, a leap day's last microsecond and the examples' usual
as-of). It is never rewritten by ``--update-goldens``: a change here is a change of
meaning, and needs a reason of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.backends.memory.columnar import member_keys
from segdsl.backends.memory.profile import load_profile
from segdsl.backends.sql import compile_segment
from segdsl.data.engines import connect, fetch_keys
from segdsl.project.workspace import load_workspace

ROOT = Path(__file__).resolve().parent.parent
RECORDED = json.loads((ROOT / "tests" / "golden" / "members" / "examples.json").read_text())
DOMAINS = ("hospitality", "golf")
AS_OF = "2026-11-01T00:00:00+00:00"


def _workspace(domain: str):
    ws = load_workspace(sorted((ROOT / "examples" / domain).glob("*.seg")))
    assert ws.ok, ws.diagnostics
    return ws


def _digest(keys: list) -> list:
    return [len(keys), hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("as_of", sorted(RECORDED["golf"]))
def test_in_memory_members_are_the_recorded_ones(domain, as_of):
    ws = _workspace(domain)
    instant = dt.datetime.fromisoformat(as_of)
    segments = list(ws.segments.values())
    table = load_profile(ws.schema, ws.project.data_dir, [s.rule for s in segments], instant)
    got = {s.name: _digest(member_keys(s.rule, table, instant)) for s in segments}
    assert got == RECORDED[domain][as_of]


def _on_engine(dsn: str, dialect: str, domain: str) -> dict:
    subprocess.run([sys.executable, "-m", "segdsl", "db", "load", f"examples/{domain}", "--dsn", dsn],
                   cwd=ROOT, check=True, capture_output=True)
    ws = _workspace(domain)
    engine = connect(dsn)
    try:
        out = {}
        for s in ws.segments.values():
            compiled = compile_segment(s, ws.schema, target=dialect, as_of=dt.datetime.fromisoformat(AS_OF))
            assert compiled.ok, compiled.diagnostics
            out[s.name] = _digest(fetch_keys(engine, compiled.sql, compiled.params))
        return out
    finally:
        engine.close()


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_embedded_engine_members_are_the_recorded_ones(tmp_path, engine, domain):
    dsn = f"{engine}:{tmp_path / ('crm.' + engine)}"
    assert _on_engine(dsn, engine, domain) == RECORDED[domain][AS_OF]


@pytest.mark.parametrize("domain", DOMAINS)
def test_postgres_members_are_the_recorded_ones(pg_dsn, domain):
    assert _on_engine(pg_dsn, "postgres", domain) == RECORDED[domain][AS_OF]


@pytest.mark.parametrize("domain", DOMAINS)
def test_mariadb_members_are_the_recorded_ones(mysql_dsn, domain):
    assert _on_engine(mysql_dsn, "mysql", domain) == RECORDED[domain][AS_OF]
