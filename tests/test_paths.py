"""Where segdsl writes: no name a user gives becomes a path out of the folder it
belongs to; every file is written whole (through segdsl.data.files); a folder that
happens to be named ``*.seg`` is not a source file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import test_refresh as common
from test_refresh import refresh_json, seg_files

ROOT = Path(__file__).resolve().parent.parent
STALE = ".{}.0123456789ab.tmp"  # a temporary file as a killed writer leaves it


@pytest.fixture
def segdsl(monkeypatch):
    return common.make_runner(monkeypatch)


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "../../x", "-x", "", "x" * 101, "a\\b"])
def test_a_sync_consumer_is_a_plain_name(segdsl, tmp_path, name):
    hotel = common.make_hotel(tmp_path)
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    before = sorted(p.relative_to(hotel) for p in hotel.rglob("*"))
    out = segdsl("sync", *seg_files(hotel), "--consumer", name, code=2).output
    assert "a consumer is a plain name" in out
    assert sorted(p.relative_to(hotel) for p in hotel.rglob("*")) == before  # nothing written anywhere
    assert not (tmp_path / "x").exists()


def test_plain_consumer_names_still_work(segdsl, tmp_path):
    hotel = common.make_hotel(tmp_path)
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    segdsl("sync", *seg_files(hotel), "--segment", "lapsed", "--consumer", "crm-1.v2_b", "--report", "json")
    assert (hotel / ".segdsl" / "sync" / "crm-1.v2_b" / "lapsed").is_dir()


@pytest.mark.parametrize("table", ["../outside", "..", "scores/../../x", ".hidden", "crm..scores", "a\\b",
                                   "/etc/passwd", "x/y"])
def test_a_table_name_is_not_a_path(tmp_path, table):
    from segdsl.check.traits import load_schema

    schema = tmp_path / "schema.toml"
    text = (ROOT / "examples" / "golf" / "schema.toml").read_text()
    schema.write_text(text.replace('table = "model_scores"', f"table = {json.dumps(table)}", 1))
    loaded, diags = load_schema(schema)
    assert loaded is None
    assert [d.code for d in diags] == ["E0302"]
    assert diags[0].message.startswith(f"source `model_scores`: `table = \"{table}\"` is ")


def test_model_scores_stay_in_the_data_folder(tmp_path):
    from segdsl.cli.model import model

    project = tmp_path / "golf"
    project.mkdir()
    for f in (ROOT / "examples" / "golf").iterdir():
        if f.is_file():
            shutil.copy(f, project / f.name)
    schema = project / "schema.toml"
    schema.write_text(schema.read_text().replace('table = "model_scores"', 'table = "/tmp/escaped"', 1))
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n')
    shutil.copytree(ROOT / "seeds" / "golf", project / "data")
    result = CliRunner().invoke(model, ["score", str(project), "--as-of", "2026-11-01"])
    assert result.exit_code == 1 and '`table = "/tmp/escaped"` is not a table name' in result.output
    assert "must be in the data folder" in result.output


def test_a_folder_named_like_a_source_is_not_one(segdsl, tmp_path, monkeypatch):
    hotel = common.make_hotel(tmp_path)
    (hotel / "exports.seg").mkdir()  # e.g. `segdsl sync --out exports.seg`
    (hotel / "exports.seg" / "inner.seg").mkdir()
    segdsl("check", hotel / "segments.seg")
    segdsl("size", hotel / "segments.seg", "--as-of", "2026-11-01", "-s", "lapsed")
    monkeypatch.chdir(hotel)
    segdsl("check", "-e", "ltv > 1 and in segment lapsed")
    segdsl("refresh", hotel / "segments.seg", "--as-of", "2026-11-01")
    import segdsl as api

    assert not [d for d in api.load_project(hotel).diagnostics if d.code == "E0004"]


def test_import_output_is_written_whole(tmp_path):
    from segdsl.cli.interchange import import_

    out = tmp_path / "out.seg"
    out.write_text("# old\n")
    stale = tmp_path / STALE.format("out.seg")
    stale.write_text("half")
    seed = ROOT / "examples" / "golf" / "json" / "active_golfers.rqb.json"
    schema = ROOT / "examples" / "golf" / "schema.toml"
    r = CliRunner().invoke(import_, [str(seed), "--schema", str(schema), "-o", str(out), "--name", "seed"])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("segment seed {")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.seg"]  # the stale temporary file went with it
    out.chmod(0o444)
    r = CliRunner().invoke(import_, [str(seed), "--schema", str(schema), "-o", str(out), "--name", "other"])
    assert r.exit_code == 1 and f"cannot write `{out}`: the file is read-only" in r.stderr
    assert out.read_text().startswith("segment seed {")


def test_the_journey_chart_is_written_whole(tmp_path):
    from segdsl.cli.main import cli

    chart = tmp_path / "funnel.html"
    stale = tmp_path / STALE.format("funnel.html")
    stale.write_text("half")
    r = CliRunner().invoke(cli, ["journey", "run", str(ROOT / "examples/hospitality/journeys.seg"), "-j",
                                 "win_back_offer", "--as-of", "2026-11-01", "--chart", str(chart)])
    assert r.exit_code == 0, r.output
    assert chart.read_text().startswith("<!doctype html>") or "<html" in chart.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["funnel.html"]
    chart.chmod(0o444)
    r = CliRunner().invoke(cli, ["journey", "run", str(ROOT / "examples/hospitality/journeys.seg"), "-j",
                                 "win_back_offer", "--as-of", "2026-11-01", "--chart", str(chart)])
    assert r.exit_code == 1 and "the file is read-only" in r.output and "Traceback" not in r.output


def test_the_saved_model_is_written_whole(tmp_path):
    from segdsl.cli.model import model

    project = tmp_path / "golf"
    project.mkdir()
    for f in (ROOT / "examples" / "golf").iterdir():
        if f.is_file():
            shutil.copy(f, project / f.name)
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n')
    shutil.copytree(ROOT / "seeds" / "golf", project / "data")
    models = project / "data" / "models"
    for name in ("churn.json", "engagement.json"):
        (models / STALE.format(name)).write_text("half")
    result = CliRunner().invoke(model, ["train", str(project), "--as-of", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in models.iterdir()) == ["churn.json", "engagement.json"]
    assert (models / "churn.json").read_bytes() == (ROOT / "seeds" / "golf" / "models" / "churn.json").read_bytes()
