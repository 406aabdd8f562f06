"""Lint warnings (W0207-W0209) and the CI output formats of `segdsl check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from segdsl.check.checker import check_modules
from segdsl.cli.main import cli
from segdsl.syntax.parser import parse_source
from segdsl.check.traits import load_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "examples" / "hospitality" / "schema.toml"
SCHEMA, _ = load_schema(SCHEMA_PATH)


def codes(rule: str) -> list[str]:
    module = parse_source("t.seg", f"segment s {{ where {rule} }}").module
    assert module is not None
    return [d.code for d in check_modules([module], SCHEMA).diagnostics]


@pytest.mark.parametrize(
    "rule,expected",
    [
        ("not (engagement_score > 5)", ["W0207"]),
        ('home_city != "Pune"', ["W0207"]),
        ('home_city not in ["Pune"]', ["W0207"]),
        ("engagement_score not between 1 and 5", ["W0207"]),
        ("not email_opt_in", ["W0207"]),  # a consent never asked for is null
        ("not (total_bookings > 2)", []),  # a count is never null: nothing is left out
        ("not (email is null)", []),
        ("ltv != 5", []),  # ltv is never null
        ("last_booking_at within 30 days and days_since_booking >= 180", ["W0208"]),
        ("ltv > 500 and ltv < 100", ["W0208"]),
        ("ltv >= 100 and ltv <= 100", []),
        ("ltv > 100 and ltv < 100.01", []),
        ('loyalty_tier in ["Gold"] and loyalty_tier = "Blue"', ["W0208"]),
        ('loyalty_tier in ["Gold", "Blue"] and loyalty_tier = "Blue"', []),
        ("signup_date > 2024-05-01 and signup_date < 2024-01-01", ["W0208"]),
        ("email is null or email is not null", ["W0209"]),
        ("ltv <= 100 or ltv > 100", ["W0209"]),
        ("ltv < 100 or ltv > 100", []),
        ("engagement_score <= 100 or engagement_score > 100", []),  # nullable: NULL rows stay out
        ("total_bookings >= 2 and total_bookings <= 2", []),
    ],
)
def test_lint_findings(rule, expected):
    assert codes(rule) == expected


def _check(*args):
    return CliRunner().invoke(cli, ["check", *args, "--schema", str(SCHEMA_PATH)])


def test_github_annotations(tmp_path):
    f = tmp_path / "a,b:c.seg"
    f.write_text('segment s {\n    where home_city != "x"\n}\nsegment t { where ltv >= "y" }\n')
    result = _check(str(f), "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::warning file=") and "title=W0207" in lines[0]
    assert "a%2Cb%3Ac.seg" in lines[0] and ",line=2,col=11," in lines[0]
    assert lines[1].startswith("::error ") and "title=E0102" in lines[1] and ",line=4,col=26," in lines[1]


def test_sarif_document(tmp_path):
    f = tmp_path / "s.seg"
    f.write_text('segment s {\n    where home_city > "x"\n}\n')
    result = _check(str(f), "--format", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    assert run["tool"]["driver"]["name"] == "segdsl"
    (res,) = run["results"]
    assert res["ruleId"] == "E0105" and res["level"] == "error"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (2, 11, 26)


def test_strict_turns_warnings_into_failure(tmp_path):
    f = tmp_path / "w.seg"
    f.write_text("segment s { where ltv > 500 and ltv < 100 }\n")
    assert _check(str(f)).exit_code == 0
    assert _check(str(f), "--strict").exit_code == 1


def test_examples_are_lint_clean():
    result = CliRunner().invoke(cli, ["check", "--strict", *map(str, sorted(ROOT.glob("examples/*/*.seg")))])
    assert result.exit_code == 0, result.output
