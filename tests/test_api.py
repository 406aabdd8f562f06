"""The public API (``import segdsl``): light to import, the same answers as the CLI,
problems as diagnostics and misuse as UsageError."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from example_projects import copy_example
import segdsl
from segdsl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
HOTEL = ROOT / "examples" / "hospitality"
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def ws():
    return segdsl.load_project(HOTEL)


def invoke(*args, cwd=ROOT):
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


# ------------------------------------------------------------------ the package


def test_import_segdsl_loads_no_heavy_module():
    heavy = ("lark", "sqlglot", "numpy", "pyarrow", "psycopg", "duckdb", "pymysql", "segdsl.api")
    code = f"import sys, segdsl; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_checking_through_the_api_needs_no_sql_or_numpy():
    code = ("import sys, segdsl; ws = segdsl.load_project('examples/hospitality'); "
            "r = segdsl.check_expression('ltv > 5', ws); assert r.ok and ws.ok; "
            "print([m for m in ('sqlglot', 'numpy', 'pyarrow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves_and_none_is_shadowed_by_a_submodule():
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(segdsl.__path__)} | {"docs"}
    assert not set(segdsl.__all__) & submodules, "a submodule import would replace the function"
    for name in segdsl.__all__:
        assert getattr(segdsl, name) is not None
        assert name in dir(segdsl)
    with pytest.raises(AttributeError):
        segdsl.no_such_thing  # noqa: B018


def test_results_are_frozen(ws):
    report = segdsl.sizes(ws, ["board_members"], as_of=AS_OF)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.sizes = ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ws.diagnostics = ()


# --------------------------------------------------------------- equal to the CLI


def test_sizes_equal_the_cli(ws):
    out = invoke("size", *sorted(str(p.relative_to(ROOT)) for p in HOTEL.glob("*.seg")),
                 "--as-of", AS_OF, "--format", "json").output
    cli_counts = {r["segment"]: r["size"] for r in json.loads(out)["results"][0]["segments"]}
    assert segdsl.sizes(ws, as_of=AS_OF).counts == cli_counts


def test_compile_equals_the_cli(ws):
    out = invoke("compile", "examples/hospitality/segments.seg", "-s", "gmail_gold", "-t", "sqlite",
                 "--as-of", AS_OF, "--form", "count", "--format", "json").output
    (entry,) = json.loads(out)
    assert segdsl.compile_sql(ws, "gmail_gold", target="sqlite", as_of=AS_OF, form="count").sql == entry["sql"]


def test_check_equals_the_cli(tmp_path):
    project = tmp_path / "hotel"
    copy_example(project, "hospitality")
    (project / "segdsl.toml").write_text(f'schema = "{HOTEL / "schema.toml"}"\n')
    (project / "bad.seg").write_text("segment s {\n    where ltv >= 1 and days_since_bookng >= 180\n}\n")
    ws = segdsl.load_project(project)
    assert not ws.ok
    out = invoke("check", *sorted(str(p) for p in project.glob("*.seg")), "--format", "json", cwd=project).output
    expected = json.loads(segdsl.render(ws.relevant(notes=True), ws.sources, format="json"))
    strip = re.compile(r"^.*/")  # the CLI shows paths relative to the working directory
    for d in [*json.loads(out)["diagnostics"], *expected["diagnostics"]]:
        if d["location"]:
            d["location"]["file"] = strip.sub("", d["location"]["file"])
    assert json.loads(out) == expected


def test_members_on_a_database_equal_those_in_memory(ws, tmp_path):
    dsn = f"sqlite:{tmp_path / 'crm.db'}"
    loaded = segdsl.load_database(ws, dsn)
    assert loaded.ok and loaded.family == "sqlite" and loaded.rows["guests"] == 3000
    rule = segdsl.check_expression('loyalty_tier in ["Gold", "Platinum"] and not in segment lapsed', ws)
    chosen = ["high_value", "board_members", rule]
    here = segdsl.members(ws, chosen, as_of=AS_OF)
    there = segdsl.members(ws, chosen, as_of=AS_OF, dsn=dsn)
    assert here.evaluated == "in memory" and there.evaluated == "database"
    assert here.members == there.members and set(here.members) == {"high_value", "board_members", "expr"}
    assert all(list(keys) == sorted(keys) for keys in here.members.values())


def test_explain_equals_the_cli():
    out = invoke("explain", "W0207", "--format", "json").output
    entry = segdsl.explain("w0207")
    assert json.loads(out) == {"code": "W0207", "severity": "warning", "summary": entry.summary, "text": entry.text}
    result = invoke("explain", "E9999")
    assert result.exit_code == 2 and "no diagnostic code `E9999`" in result.output


# -------------------------------------------------------------- diagnostics, errors


def test_every_code_the_library_emits_is_explained():
    emitted = set()
    for path in (ROOT / "src" / "segdsl").rglob("*.py"):
        emitted |= set(re.findall(r"[\"']([EWI]\d{4})[\"']", path.read_text(encoding="utf-8")))
    missing = sorted(emitted - set(segdsl.codes()))
    assert not missing, f"codes with no entry in docs/diagnostics.md or docs/interchange.md: {missing}"
    for code in segdsl.codes():
        assert segdsl.explain(code).text, code


def test_problems_in_source_are_diagnostics_not_exceptions(ws, tmp_path):
    broken = segdsl.check_modules(segdsl.parse("segment s { where ltv > }", "s.seg"), HOTEL / "schema.toml")
    assert not broken.ok and [d.code for d in broken.diagnostics] == ["E0010"]
    no_schema = segdsl.check_modules([], tmp_path / "missing.toml")
    assert [d.code for d in no_schema.diagnostics] == ["E0301"]
    typo = segdsl.check_expression("days_since_bookng >= 180", ws)
    assert not typo.ok
    # Compiling or sizing a rule that did not check gives its diagnostics back.
    assert segdsl.compile_sql(ws, typo).diagnostics == typo.diagnostics
    assert segdsl.sizes(ws, [typo], as_of=AS_OF).diagnostics == typo.diagnostics
    # A target that cannot express a construct: a diagnostic, exit-1 material.
    golf = segdsl.load_project(ROOT / "examples" / "golf")
    assert [d.code for d in segdsl.compile_sql(golf, "competition_players", target="oracle").diagnostics] == \
        ["E0403"]
    # A workspace with errors in its files: nothing is sized, the errors say why.
    (tmp_path / "segdsl.toml").write_text(f'schema = "{HOTEL / "schema.toml"}"\ndata = "{ROOT / "seeds" / "hospitality"}"\n')
    (tmp_path / "a.seg").write_text("segment a { where ltv > 1 }\nsegment b { where nope > 1 }\n")
    bad = segdsl.load_project(tmp_path)
    report = segdsl.sizes(bad, as_of=AS_OF)
    assert report.sizes == () and [d.code for d in report.diagnostics] == ["E0101"]
    # Compiling, as `segdsl compile` does, keeps the segment that checked beside the one that did not.
    assert segdsl.compile_sql(bad, "a").ok and '"ltv" > 1' in segdsl.compile_sql(bad, "a").sql
    assert [d.code for d in segdsl.compile_sql(bad, "b").diagnostics] == ["E0101"]
    with pytest.raises(segdsl.UsageError, match="no segment `c`"):
        segdsl.compile_sql(bad, "c")


def test_misuse_raises_usage_error(ws, tmp_path):
    (tmp_path / "x.seg").write_text("segment x { where ltv > 1 }\n")
    cases = [
        (lambda: segdsl.compile_sql(ws, "high_valu"), "segment", "did you mean `high_value`?"),
        (lambda: segdsl.compile_sql(ws, "high_value", target="postgress"), "target", "did you mean `postgres`?"),
        (lambda: segdsl.compile_sql(ws, "high_value", form="table"), "form", "select, count, view"),
        (lambda: segdsl.sizes(ws, as_of="yesterday"), "as_of", "YYYY-MM-DD"),
        (lambda: segdsl.render([], format="yaml"), "format", "text, json"),
        (lambda: segdsl.explain("E0110x"), "code", "did you mean `E0110`?"),
        (lambda: segdsl.load_files([HOTEL / "segments.seg", ROOT / "examples" / "golf" / "segments.seg"]),
         "paths", "load_workspaces"),
        (lambda: segdsl.members(segdsl.load_files([tmp_path / "x.seg"], schema=HOTEL / "schema.toml")),
         "data", "no data"),
    ]
    for call, param, text in cases:
        with pytest.raises(segdsl.UsageError) as info:
            call()
        assert info.value.param == param and text in str(info.value), (param, str(info.value))
        assert isinstance(info.value, ValueError)


def test_as_of_forms():
    utc = dt.timezone.utc
    midnight = dt.datetime(2026, 11, 1, tzinfo=utc)
    assert segdsl.parse_as_of("2026-11-01") == midnight
    assert segdsl.parse_as_of(dt.date(2026, 11, 1)) == midnight
    assert segdsl.parse_as_of(dt.datetime(2026, 11, 1)) == midnight  # naive is UTC
    assert segdsl.parse_as_of(dt.datetime(2026, 11, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == midnight
    assert segdsl.parse_as_of("2026-11-01T01:00:00+01:00") == midnight


def test_workspace_selection_and_expression(ws):
    assert [s.name for s in ws.select(["lapsed", "high_value"])] == ["lapsed", "high_value"]
    with_rule, rule = ws.with_expression("in segment lapsed and ltv > 1")
    assert rule is not None and with_rule.requested[-1] == "<expr>" and "<expr>" not in ws.requested
    assert segdsl.sizes(ws, rule, as_of=AS_OF).counts["expr"] <= segdsl.sizes(ws, "lapsed", as_of=AS_OF).counts[
        "lapsed"]


def test_lone_directory_is_a_diagnostic(tmp_path):
    lone = segdsl.load_project(tmp_path)
    assert not lone.ok and lone.diagnostics[0].code == "E0304" and lone.schema is None


def test_format_results():
    done = segdsl.format_source("segment a {where ltv>1}")
    assert done.ok and done.changed and done.text == "segment a {\n    where ltv > 1\n}\n"
    again = segdsl.format_source(done.text)
    assert again.ok and not again.changed
    broken = segdsl.format_source("segment a {where ltv >}")
    assert broken.text is None and not broken.ok and broken.diagnostics[0].code == "E0010"


def test_plan_with_a_missing_state_store_plans_from_nothing(tmp_path):
    # It was an internal error (exit 70) before plan became a shell over preview_refresh;
    # a missing store is "no previous state", and plan creates none.
    result = invoke("plan", "examples/hospitality/segments.seg", "--as-of", AS_OF, "--all",
                    "--state", str(tmp_path / "none.db"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert {r["action"] for r in json.loads(result.output)["results"][0]["segments"]} == {"create"}
    preview = segdsl.preview_refresh(segdsl.load_project(HOTEL), as_of=AS_OF, state=str(tmp_path / "none.db"),
                                     everything=True)
    assert preview.ok and {c.action for c in preview.segments} == {"create"}
    assert not list(tmp_path.iterdir())
    (tmp_path / "bad.db").write_bytes(b"not a database" * 100)
    result = invoke("plan", "examples/hospitality/segments.seg", "--as-of", AS_OF, "--state", str(tmp_path / "bad.db"))
    assert result.exit_code == 1 and "not a usable segdsl state store" in result.output
    assert "internal error" not in result.output


def test_format_file_keeps_a_byte_order_mark(tmp_path):
    path = tmp_path / "a.seg"
    path.write_bytes(b"\xef\xbb\xbfsegment a {where ltv>1}")
    done = segdsl.format_file(path)
    assert done.changed and done.data == b"\xef\xbb\xbf" + done.after.encode() and path.read_bytes().startswith(b"\xef")
    missing = segdsl.format_file(tmp_path / "nope.seg")
    assert not missing.ok and missing.diagnostics[0].code == "E0004"


def test_a_workspace_without_a_schema_answers_with_its_errors(tmp_path):
    lone = segdsl.load_project(tmp_path)
    assert [d.code for d in segdsl.check_expression("ltv > 1", lone).diagnostics] == ["E0304"]
    assert [d.code for d in segdsl.compile_sql(lone, "anything").diagnostics] == ["E0304"]
    assert [d.code for d in segdsl.sizes(lone, as_of=AS_OF).diagnostics] == ["E0304"]
