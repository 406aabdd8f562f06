"""Golden files: the SQL of every example segment on several targets, and the
rendered diagnostics of every case in tests/cases/diagnostics. Review diffs of
tests/golden/ like code; regenerate with ``pytest --update-goldens``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segdsl.cli.main import cli
from segdsl.diagnostics import render_all_text, render_json
from segdsl.project.workspace import load_workspace

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "cases" / "diagnostics").glob("*.seg"))
EXAMPLES = sorted((ROOT / "examples").glob("*/*.seg"))
HOSPITALITY_SCHEMA = ROOT / "examples" / "hospitality" / "schema.toml"

# (golden suffix, CLI options). Pinned as-of so the files do not change with the date.
TARGETS = [
    ("postgres", ["--target", "postgres"]),  # the database clock
    ("postgres.pinned", ["--target", "postgres", "--as-of", "2026-11-01"]),
    ("postgres.params", ["--target", "postgres", "--as-of", "2026-11-01", "--params"]),
    ("duckdb", ["--target", "duckdb"]),
    ("sqlite", ["--target", "sqlite"]),
    ("mysql", ["--target", "mysql"]),  # the database clock: UTC_DATE()
    ("mysql.pinned", ["--target", "mysql", "--as-of", "2026-11-01"]),
    ("bigquery", ["--target", "bigquery", "--as-of", "2026-11-01"]),
    ("snowflake", ["--target", "snowflake", "--as-of", "2026-11-01"]),
    ("trino", ["--target", "trino", "--as-of", "2026-11-01"]),
    ("spark", ["--target", "spark"]),  # the database clock: UNIX_MICROS(CURRENT_TIMESTAMP())
    ("spark.pinned", ["--target", "spark", "--as-of", "2026-11-01"]),
    ("spark.params", ["--target", "spark", "--as-of", "2026-11-01", "--params"]),
]


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("suffix,options", TARGETS, ids=[t[0] for t in TARGETS])
def test_example_sql(example, suffix, options, golden):
    rel = example.relative_to(ROOT)
    result = CliRunner().invoke(cli, ["compile", str(rel), *options])
    # Targets that cannot express a construct answer with a diagnostic: record it.
    assert result.exit_code in (0, 1), result.output
    # The segments that compiled, then (when some did not) the exit status and stderr.
    text = result.stdout if result.exit_code == 0 else f"{result.stdout}-- exit {result.exit_code}\n{result.stderr}"
    golden(f"sql/{example.parent.name}-{example.stem}.{suffix}.sql", text)


def test_view_form(golden):
    result = CliRunner().invoke(
        cli, ["compile", "examples/hospitality/segments.seg", "-s", "high_value", "--form", "view"]
    )
    assert result.exit_code == 0, result.output
    golden("sql/hospitality-high_value.view.postgres.sql", result.output)
    result = CliRunner().invoke(
        cli, ["compile", "examples/hospitality/segments.seg", "-s", "high_value", "--form", "view", "-t", "sqlite"]
    )
    assert result.exit_code == 0, result.output
    golden("sql/hospitality-high_value.view.sqlite.sql", result.output)
    result = CliRunner().invoke(
        cli, ["compile", "examples/hospitality/segments.seg", "-s", "high_value", "--form", "view", "-t", "mysql"]
    )
    assert result.exit_code == 0, result.output
    golden("sql/hospitality-high_value.view.mysql.sql", result.output)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_diagnostics(case, golden):
    ws = load_workspace([case.relative_to(ROOT)], HOSPITALITY_SCHEMA)
    assert ws.diagnostics, f"{case.name} should produce at least one diagnostic"
    golden(f"diagnostics/{case.stem}.diag.txt", render_all_text(ws.diagnostics, ws.sources) + "\n")


def test_diagnostics_json(golden):
    case = ROOT / "tests" / "cases" / "diagnostics" / "unknown_field.seg"
    ws = load_workspace([case.relative_to(ROOT)], HOSPITALITY_SCHEMA)
    golden("diagnostics/unknown_field.diag.json", render_json(ws.diagnostics, ws.sources) + "\n")
