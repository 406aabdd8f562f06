"""End to end: every command the README shows, run as the installed `segdsl` script.

These run real processes (exit codes, stdout/stderr, no tracebacks) against the
example projects, the bundled seeds and a real Postgres.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from example_projects import copy_example
from segdsl import load_files

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
HOSPITALITY = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "hospitality").glob("*.seg"))
GOLF = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "golf").glob("*.seg"))


def run(*args: str, cwd: Path = ROOT, code: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([SEGDSL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    if code is not None:
        assert proc.returncode == code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_help_for_every_command():
    for args in ([], ["check"], ["compile"], ["size"], ["db"], ["db", "load"]):
        out = run(*args, "--help").stdout
        assert "Usage: segdsl" in out


def test_check_examples_clean():
    out = run("check", *HOSPITALITY, *GOLF).stdout
    last = out.strip().splitlines()[-1]
    assert last == f"checked {len(HOSPITALITY) + len(GOLF)} files: no problems"
    # I0210 (segments no journey acts on yet) is opt-in: a clean check prints nothing else.
    assert "error[" not in out and "warning[" not in out and "info[" not in out


def test_check_json_and_failure_exit_codes(tmp_path):
    payload = json.loads(run("check", *GOLF, "--format", "json").stdout)
    assert payload["diagnostics"] == []
    bad = tmp_path / "bad.seg"
    bad.write_text('segment s {\n    where ltv >= 150000 and days_since_bookng >= 180\n}\n')
    proc = run("check", str(bad), "--schema", "examples/hospitality/schema.toml", code=1)
    assert "error[E0101]: unknown field `days_since_bookng`" in proc.stdout
    assert "did you mean `days_since_booking`?" in proc.stdout
    assert f"--> {bad}:2:29" in proc.stdout
    data = json.loads(run("check", str(bad), "--schema", "examples/hospitality/schema.toml", "--format", "json",
                          code=1).stdout)
    (diag,) = data["diagnostics"]
    assert diag["code"] == "E0101" and diag["location"]["line"] == 2 and diag["location"]["column"] == 29
    run("check", code=2)  # usage error: nothing to check
    run("check", "--format", "yaml", *GOLF, code=2)


def test_check_outside_any_project_says_so(tmp_path):
    lone = tmp_path / "lone.seg"
    lone.write_text("segment s { where ltv > 1 }\n")
    proc = run("check", str(lone), code=1)
    assert "E0304" in proc.stdout and "segdsl.toml" in proc.stdout


def test_check_binary_garbage_is_a_diagnostic(tmp_path):
    junk = tmp_path / "junk.seg"
    junk.write_bytes(b"\xff\xfe\x00segment \x00\x01")
    proc = run("check", str(junk), "--schema", "examples/hospitality/schema.toml", code=1)
    assert "E0001" in proc.stdout


def test_compile_postgres_segment():
    out = run("compile", "examples/hospitality/segments.seg", "--target", "postgres", "--segment", "high_value").stdout
    assert out.startswith('-- segment: high_value\nWITH "profile" AS (\n')
    # The traits the rule reads are computed from the raw tables in the profile CTE; the
    # scan keeps only the rows they count.
    assert 'SUM("amount_inr") AS "ltv"' in out and '"status" = \'completed\'' in out
    assert '"ltv" >= 150000' in out
    # Relative time uses the database clock, in UTC, and bounds the column (index-friendly).
    assert "CURRENT_TIMESTAMP AT TIME ZONE 'UTC'" in out
    assert '"last_booking_at" >=' in out and "ORDER BY" in out


def test_compile_sqlite_count_pinned():
    out = run("compile", "examples/hospitality/segments.seg", "--target", "sqlite", "--form", "count",
              "--as-of", "2026-11-01").stdout
    assert out.count('COUNT(*) AS "size"') == 8  # every segment of the file
    assert "'2026-05-06 00:00:00.000000'" in out  # lapsed: 180 days before the as-of date


def test_compile_params_prints_json_params():
    out = run("compile", "examples/hospitality/segments.seg", "--segment", "gmail_gold", "--params").stdout
    assert "%(p1)s" in out
    params = json.loads(out.split("-- params: ", 1)[1])
    assert params == {"p1": "Gold", "p2": "Platinum", "p3": "@gmail.com"}


def test_compile_expr_in_project_directory():
    cwd = ROOT / "examples" / "hospitality"
    out = run("compile", "-e", "days_since_booking >= 180 and email_opt_in", cwd=cwd).stdout
    assert '"email_opt_in"' in out and '"last_booking_at" <' in out
    out = run("compile", "-e", "in segment lapsed", "--as-of", "2026-11-01", "-t", "duckdb", cwd=cwd).stdout
    assert "COALESCE" in out


def test_compile_usage_errors():
    proc = run("compile", "examples/hospitality/segments.seg", "--target", "postgress", code=2)
    assert "did you mean `postgres`" in proc.stderr
    proc = run("compile", "examples/hospitality/segments.seg", "--segment", "high_valu", code=2)
    assert "high_value" in proc.stderr
    proc = run("compile", "examples/hospitality/segments.seg", "--as-of", "yesterday", code=2)
    assert "--as-of" in proc.stderr
    proc = run("compile", "examples/hospitality/segments.seg", "--params", "--target", "trino", code=2)
    assert "--params" in proc.stderr and proc.stdout == ""


def test_compile_unsupported_construct_is_a_diagnostic_beside_the_other_segments():
    # Oracle has no tag lists: competition_players is refused, every other segment printed.
    proc = run("compile", "examples/golf/segments.seg", "--target", "oracle", "--as-of", "2026-11-01", code=1)
    assert "E0403" in proc.stderr and "segments.seg:16:36" in proc.stderr
    printed = [line.removeprefix("-- segment: ") for line in proc.stdout.splitlines() if line.startswith("-- segment: ")]
    declared = [s.name for s in load_files(["examples/golf/segments.seg"]).requested_segments()]
    assert printed == [n for n in declared if n != "competition_players"] and len(printed) > 3
    assert proc.stderr.splitlines()[-1] == (
        f"segdsl: 1 error; {len(printed)} of {len(declared)} segments compiled (not compiled: competition_players)")
    # The same as JSON: one entry per segment, the refused one with its diagnostics.
    entries = json.loads(run("compile", "examples/golf/segments.seg", "--target", "oracle", "--as-of", "2026-11-01",
                             "--format", "json", code=1).stdout)
    assert [e["segment"] for e in entries] == declared
    (refused,) = [e for e in entries if e["sql"] is None]
    assert refused["segment"] == "competition_players" and refused["diagnostics"][0]["code"] == "E0403"


def test_compile_keeps_the_segments_that_check_beside_those_that_do_not(tmp_path):
    seg = tmp_path / "mixed.seg"
    seg.write_text('segment good { where ltv > 5 }\nsegment bad { where ltvv > 5 }\n'
                   'segment uses_bad { where in segment bad }\n')
    schema = str(ROOT / "examples" / "hospitality" / "schema.toml")
    proc = run("compile", str(seg), "--schema", schema, code=1)
    assert proc.stdout.startswith("-- segment: good\n") and proc.stdout.count("-- segment:") == 1
    assert "error[E0101]: unknown field `ltvv`" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "segdsl: 1 error; 1 of 3 segments compiled (not compiled: bad, uses_bad)"
    # Asked for by name, a segment that did not check is its errors, not an unknown name.
    proc = run("compile", str(seg), "--schema", schema, "-s", "bad", code=1)
    assert proc.stdout == "" and "E0101" in proc.stderr
    run("compile", str(seg), "--schema", schema, "-s", "nonesuch", code=2)


def test_compile_notes_a_dialect_no_test_runs_on_stderr():
    for target, verified in (("postgres", True), ("pg", True), ("mariadb", True), ("sqlite", True),
                             ("bigquery", False), ("trino", False), ("tsql", False)):
        proc = run("compile", "-e", "ltv > 5", "--target", target, cwd=ROOT / "examples" / "hospitality")
        assert proc.stdout.startswith("-- segment: expr\n")
        note = "segdsl: note: no test runs "
        assert (note in proc.stderr) is not verified, (target, proc.stderr)
        if not verified:
            assert proc.stderr.count("\n") == 1 and "docs/engines.md" in proc.stderr


def test_size_in_memory_table():
    out = run("size", *HOSPITALITY, *GOLF, "--as-of", "2026-11-01").stdout
    assert "guest segments as of 2026-11-01T00:00:00Z, in memory, 3,000 profiles in guests" in out
    assert "member segments as of 2026-11-01T00:00:00Z, in memory, 1,500 profiles in members" in out
    assert "board_members" in out and "active_golfers_low_handicap" in out


def test_size_json_and_csv_agree():
    data = json.loads(run("size", *GOLF, "--as-of", "2026-11-01", "--format", "json").stdout)
    (block,) = data["results"]
    sizes = {s["segment"]: s["size"] for s in block["segments"]}
    assert sizes["vip_list"] == 4 and sizes["board_members"] == 2
    csv_lines = run("size", *GOLF, "--as-of", "2026-11-01", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "entity,segment,type,refresh,size,total,share"
    assert {line.split(",")[1]: int(line.split(",")[4]) for line in csv_lines[1:]} == sizes


def test_time_alone_changes_membership():
    a = json.loads(run("size", "examples/hospitality/segments.seg", "-s", "lapsed", "--as-of", "2026-11-01",
                       "--format", "json").stdout)
    b = json.loads(run("size", "examples/hospitality/segments.seg", "-s", "lapsed", "--as-of", "2027-06-01",
                       "--format", "json").stdout)
    assert b["results"][0]["segments"][0]["size"] > a["results"][0]["segments"][0]["size"]


@pytest.mark.parametrize("project,files", [("hospitality", HOSPITALITY), ("golf", GOLF)])
def test_db_load_then_size_on_postgres_equals_in_memory(pg_dsn, project, files):
    out = run("db", "load", f"examples/{project}", "--dsn", pg_dsn).stdout
    assert out.startswith("loaded ")
    args = ("size", *files, "--as-of", "2026-11-01", "--format", "json", "--overlap")
    on_pg = json.loads(run(*args, "--dsn", pg_dsn).stdout)["results"][0]
    in_mem = json.loads(run(*args).stdout)["results"][0]
    assert on_pg["segments"] == in_mem["segments"]
    assert on_pg["overlaps"] == in_mem["overlaps"]
    n = len(on_pg["segments"])
    assert n >= 7 and len(on_pg["overlaps"]) == n * (n - 1) // 2
    assert all(s["total"] > 0 for s in on_pg["segments"])


def test_size_with_unreachable_database_is_a_clear_error():
    proc = run("size", "examples/golf/system.seg", "--dsn", "postgresql://nobody@127.0.0.1:1/none", code=1)
    assert proc.stderr.startswith("segdsl: cannot connect to Postgres")


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
@pytest.mark.parametrize("project,files", [("hospitality", HOSPITALITY), ("golf", GOLF)])
def test_db_load_then_size_on_embedded_engines_equals_in_memory(tmp_path, engine, project, files):
    dsn = f"{engine}:{tmp_path / ('crm.' + engine)}"
    run("db", "load", f"examples/{project}", "--dsn", dsn)
    on_db = json.loads(run("size", *files, "--as-of", "2026-11-01", "--dsn", dsn, "--format", "json").stdout)
    in_mem = json.loads(run("size", *files, "--as-of", "2026-11-01", "--format", "json").stdout)
    assert on_db["results"][0]["segments"] == in_mem["results"][0]["segments"]


@pytest.mark.parametrize("project,files", [("hospitality", HOSPITALITY), ("golf", GOLF)])
def test_db_load_then_size_on_mariadb_equals_in_memory(mysql_dsn, project, files):
    run("db", "load", f"examples/{project}", "--dsn", mysql_dsn)
    on_db = json.loads(run("size", *files, "--as-of", "2026-11-01", "--dsn", mysql_dsn, "--format", "json").stdout)
    in_mem = json.loads(run("size", *files, "--as-of", "2026-11-01", "--format", "json").stdout)
    assert on_db["results"][0]["segments"] == in_mem["results"][0]["segments"]


def test_missing_source_data_is_a_clear_error(tmp_path):
    """A source table without its CSV must not quietly turn every trait into NULL."""
    project = tmp_path / "golf"
    copy_example(project, "golf")
    data = tmp_path / "data"
    shutil.copytree(ROOT / "seeds" / "golf", data)
    (data / "handicaps.csv").unlink()
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "../data"\n')
    proc = run("size", str(project / "segments.seg"), "--as-of", "2026-11-01", code=1)
    assert "handicaps.csv" in proc.stderr and "no data for the source `handicaps`" in proc.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`segdsl size ... | head -1`: the reader is gone before the output is written; the
    command stops as SIGPIPE would stop it, with no internal error and no traceback."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        proc = subprocess.run([SEGDSL, "size", *HOSPITALITY, "--as-of", "2026-11-01"], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr.decode()
    assert proc.stderr.decode() == ""
