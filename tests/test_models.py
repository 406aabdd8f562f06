"""The models behind smart segments: the regression and its measures, leakage, the
committed scores, and the ``segdsl model`` commands."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from segdsl.cli.model import model
from segdsl.data.tables import EPOCH_ORDINAL, US_PER_DAY, Column, Table, read_csv
from segdsl.models import ModelError, train_models, write_run
from segdsl.models.features import compile_expr
from segdsl.models.logistic import auc, fit_logistic, log_loss, predict
from segdsl.models.specs import CHURN, ENGAGEMENT, HORIZON_DAYS
from segdsl.models.train import ModelData, holdout_mask
from segdsl.check.traits import load_schema
from segdsl.schema.model import Kind

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
CUTOFF = AS_OF - dt.timedelta(days=HORIZON_DAYS)
DOMAINS = ("hospitality", "golf")


def _schema(domain: str):
    schema, diags = load_schema(ROOT / "examples" / domain / "schema.toml")
    assert schema is not None, diags
    return schema


@pytest.fixture(scope="module")
def data():
    return {d: ModelData.load(_schema(d), ROOT / "seeds" / d) for d in DOMAINS}


@pytest.fixture(scope="module")
def runs():
    return {d: train_models(_schema(d), ROOT / "seeds" / d, AS_OF) for d in DOMAINS}


# ------------------------------------------------------------------ measures


def _pairwise_auc(y, s) -> float:
    pos = [v for v, t in zip(s, y) if t]
    neg = [v for v, t in zip(s, y) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_known_cases():
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auc(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert auc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    # One tie between classes counts a half: (0.5 + 1 + 0 + 1) / 4.
    assert auc(np.array([1, 0, 1, 0]), np.array([0.8, 0.8, 0.3, 0.1])) == 0.625
    assert np.isnan(auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_auc_matches_pairwise_count_with_many_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 60)
        if y.all() or not y.any():
            continue
        s = rng.integers(0, 5, 60).astype(float)  # heavy ties
        assert auc(y, s) == pytest.approx(_pairwise_auc(y, s), abs=1e-12)


def test_log_loss_known_values():
    assert log_loss(np.array([1, 0]), np.array([0.8, 0.2])) == pytest.approx(-np.log(0.8))
    assert log_loss(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(np.log(2))


def test_logistic_regression_recovers_known_coefficients():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40_000, 3))
    true_b0, true_w = -0.5, np.array([1.0, -2.0, 0.5])
    y = rng.random(40_000) < 1 / (1 + np.exp(-(true_b0 + x @ true_w)))
    b0, w = fit_logistic(x, y, l2=1e-6)
    assert b0 == pytest.approx(true_b0, abs=0.06)
    assert w == pytest.approx(true_w, abs=0.06)
    again = fit_logistic(x, y, l2=1e-6)
    assert again[0] == b0 and np.array_equal(again[1], w)  # deterministic
    # The penalty shrinks the weights towards zero, never the intercept's role.
    _, shrunk = fit_logistic(x, y, l2=5_000.0)
    assert np.all(np.abs(shrunk) < np.abs(w))
    assert auc(y, predict(b0, w, x)) > 0.8


def test_holdout_is_a_stable_quarter():
    keys = np.arange(1001, 5001)
    mask = holdout_mask(keys)
    assert 0.22 < mask.mean() < 0.28
    assert np.array_equal(mask, holdout_mask(keys[::-1])[::-1])  # depends on the key alone
    # Text keys are bucketed too, by their text exactly.
    text = holdout_mask(np.array([f"g{i}" for i in range(4000)], dtype=object))
    assert 0.22 < text.mean() < 0.28


def test_the_holdout_is_the_languages_holdout_with_the_same_salt(data):
    """The model holds out exactly the entities `in holdout` selects for a holdout
    declared with its salt and share: one bucketing rule, not a second hash."""
    from segdsl.backends.memory.columnar import member_keys
    from segdsl.backends.memory.profile import load_profile
    from segdsl.check.checker import check_modules
    from segdsl.models.train import HOLDOUT_PERCENT, HOLDOUT_SALT
    from segdsl.syntax.parser import parse_source

    assert f"salt `{HOLDOUT_SALT}`" in (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    for domain in DOMAINS:
        schema = data[domain].schema
        text = (f'holdout churn_holdout {HOLDOUT_PERCENT}% salt "{HOLDOUT_SALT}"\n'
                "segment held { where in holdout churn_holdout }\n")
        checked = check_modules([parse_source("h.seg", text).module], schema)
        assert checked.ok, checked.diagnostics
        rule = checked.segments["held"].rule
        table = load_profile(schema, ROOT / "seeds" / domain, [rule], AS_OF)
        held = set(member_keys(rule, table, AS_OF))
        keys = data[domain].keys
        assert held == set(keys[holdout_mask(keys)].tolist())
        assert 0 < len(held) < len(keys)


# ------------------------------------------------------------------ features


def test_features_are_checked_segdsl_expressions():
    schema = _schema("hospitality")
    with pytest.raises(ModelError, match="unknown source `bookngs`"):
        compile_expr(schema, "count(bookngs)", "x")
    with pytest.raises(ModelError, match="feature `y`"):
        compile_expr(schema, "ltv >= 5", "y")
    for spec in CHURN.values():
        assert all("before 0 days ago" in f.expr or f.expr.startswith("days_since(") for f in spec.features)


def _snapshot(table: Table, cutoff_day: int) -> Table:
    """The table as it stood at the cutoff date: rows first dated on or after it did
    not exist yet; later dates on older rows (a payment, a round) had not happened."""
    schema = table.schema
    dated = [f for f in schema.fields.values() if f.kind in (Kind.DATE, Kind.TIMESTAMP)]

    def days(f):
        v = table.columns[f.column].values
        return v if f.kind is Kind.DATE else np.floor_divide(v, US_PER_DAY)

    first = np.min(np.column_stack([np.where(table.columns[f.column].valid, days(f), np.iinfo(np.int64).max)
                                    for f in dated]), axis=1)
    keep = first < cutoff_day
    cols = {name: Column(c.values[keep].copy(), c.valid[keep].copy()) for name, c in table.columns.items()}
    for f in dated:
        later = days(f)[keep] >= cutoff_day
        if f.nullable:
            cols[f.column].valid[later] = False
            if f.column == "paid_on":
                cols["days_late"].valid[later] = False
        elif f.column == "starts_at":
            cols["status"].values[later] = "upcoming"
    return Table(schema, cols, int(keep.sum()))


@pytest.mark.parametrize("domain", DOMAINS)
def test_features_at_the_cutoff_ignore_later_rows(data, domain):
    full = data[domain]
    cutoff_day = CUTOFF.date().toordinal() - EPOCH_ORDINAL
    past = ModelData(full.schema, full.entity, {n: _snapshot(t, cutoff_day) for n, t in full.sources.items()},
                     full.exprs, full.keys)
    assert sum(t.n_rows for t in past.sources.values()) < sum(t.n_rows for t in full.sources.values())
    names = [f.name for f in CHURN[full.schema.entity].features] + ["_population"]
    names += [n for n, _, _ in ENGAGEMENT.terms]
    before, after = past.eval(names, CUTOFF), full.eval(names, CUTOFF)
    for name in names:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    # ... while the label does see them: it is what happens after the cutoff.
    assert not np.array_equal(past.eval(["_outcome"], AS_OF)["_outcome"], full.eval(["_outcome"], AS_OF)["_outcome"])


def test_label_is_no_stay_in_the_180_days_from_the_cutoff(data):
    d = data["hospitality"]
    bookings = d.sources["bookings"]
    day = np.floor_divide(bookings.columns["checked_in_at"].values, US_PER_DAY)
    start = CUTOFF.date().toordinal() - EPOCH_ORDINAL
    done = bookings.columns["status"].values == "completed"
    owner = bookings.columns["guest_id"].values
    active = set(owner[done & (day >= start) & (day < start + HORIZON_DAYS)].tolist())
    stayed = set(owner[done & (day < start)].tolist())
    outcome = d.eval(["_outcome"], AS_OF)["_outcome"]
    population = d.eval(["_population"], CUTOFF)["_population"] > 0
    keys = d.keys.tolist()
    assert {k for k, p in zip(keys, population) if p} == stayed
    assert {k for k, o in zip(keys, outcome) if o > 0} == active


# ------------------------------------------------------------------ committed outputs


@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_scores_and_reports_are_a_fresh_run(runs, domain, tmp_path):
    schema = _schema(domain)
    write_run(schema, runs[domain], tmp_path)
    seeds = ROOT / "seeds" / domain
    for rel in ("model_scores.csv", "models/churn.json", "models/engagement.json"):
        assert (tmp_path / rel).read_bytes() == (seeds / rel).read_bytes(), (
            f"seeds/{domain}/{rel} is stale; rerun `segdsl model train examples/{domain} --as-of 2026-11-01`")


@pytest.mark.parametrize("domain", DOMAINS)
def test_churn_model_separates_on_the_holdout(runs, domain):
    report = runs[domain].churn
    assert report["holdout"]["auc"] >= 0.65
    assert report["holdout"]["log_loss"] < report["holdout"]["base_rate_log_loss"]
    assert report["holdout"]["entities"] > 100 and 0 < report["base_rate"] < 1
    # Recency raises the risk, recent activity lowers it.
    coef = {f["name"]: f["coefficient"] for f in report["features"]}
    assert coef["recency_days"] > 0


@pytest.mark.parametrize("domain", DOMAINS)
def test_scores_table_is_what_smart_segments_read(runs, domain):
    schema = _schema(domain)
    source = schema.sources["model_scores"]
    table = read_csv(source, ROOT / "seeds" / domain / "model_scores.csv")
    rows = table.records()
    assert [r["score_id"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(0 <= r["score"] <= 100 and r["scored_at"] == AS_OF for r in rows)
    per_model = {m: [r for r in rows if r["model"] == m] for m in ("churn", "engagement")}
    key = source.entity_key
    churn_keys = [r[key] for r in per_model["churn"]]
    assert len(set(churn_keys)) == len(churn_keys) == runs[domain].churn["score"]["entities"]
    # Someone is at risk, and the engagement score is calibrated: 10-30 % at 50 or more, some at 70.
    assert any(r["score"] >= 70 for r in per_model["churn"])
    eng = np.array([r["score"] for r in per_model["engagement"]])
    assert 0.10 <= (eng >= 50).mean() <= 0.30 and (eng >= 70).any()


def test_the_docs_quote_the_committed_holdout_auc():
    text = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| **holdout AUC**"))
    for domain in DOMAINS:
        report = json.loads((ROOT / "seeds" / domain / "models" / "churn.json").read_text(encoding="utf-8"))
        assert f"**{report['holdout']['auc']:.3f}**" in row, domain


def test_smart_segments_find_members_through_the_scores():
    from segdsl.project.workspace import load_workspace
    from segdsl.lifecycle.sizes import sizes_in_memory

    for domain, names in (("golf", ("active_golfers_low_handicap", "likely_to_churn")),
                          ("hospitality", ("likely_to_churn",))):
        ws = load_workspace([ROOT / "examples" / domain / "segments.seg"])
        assert ws.ok, ws.diagnostics
        segments = [ws.segments[n] for n in names]
        sizes = sizes_in_memory(segments, ws.schema, ws.project.data_dir, AS_OF)
        assert all(s.size > 0 for s in sizes), [(s.segment.name, s.size) for s in sizes]


# ------------------------------------------------------------------ the commands


def _project_copy(tmp_path: Path, domain: str) -> Path:
    project = tmp_path / domain
    project.mkdir()
    for f in (ROOT / "examples" / domain).iterdir():
        if f.is_file():
            shutil.copy(f, project / f.name)
    data = project / "data"
    data.mkdir()
    for f in (ROOT / "seeds" / domain).glob("*.csv"):
        if f.name != "model_scores.csv":
            shutil.copy(f, data / f.name)
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n', encoding="utf-8")
    return project


def test_model_commands_train_score_and_report(tmp_path):
    project = _project_copy(tmp_path, "golf")
    runner = CliRunner()

    before = runner.invoke(model, ["report", str(project)])
    assert before.exit_code == 1 and "segdsl model train" in before.output

    result = runner.invoke(model, ["train", str(project), "--as-of", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "holdout       AUC 0." in result.output and "log loss" in result.output
    assert "recency_days" in result.output
    data = project / "data"
    committed = ROOT / "seeds" / "golf"
    for rel in ("model_scores.csv", "models/churn.json", "models/engagement.json"):
        assert (data / rel).read_bytes() == (committed / rel).read_bytes()

    report = runner.invoke(model, ["report", str(project)])
    assert report.exit_code == 0, report.output
    saved = json.loads((data / "models" / "churn.json").read_text())
    assert f"AUC {saved['holdout']['auc']:.4f}" in report.output
    assert all(f["name"] in report.output for f in saved["features"])
    as_json = runner.invoke(model, ["report", str(project), "--format", "json"])
    assert json.loads(as_json.output)["churn"]["holdout"]["auc"] == saved["holdout"]["auc"]

    # Scoring with the saved model at the same instant reproduces the file exactly.
    (data / "model_scores.csv").unlink()
    scored = runner.invoke(model, ["score", str(project), "--as-of", "2026-11-01"])
    assert scored.exit_code == 0, scored.output
    assert (data / "model_scores.csv").read_bytes() == (committed / "model_scores.csv").read_bytes()

    # The default as-of is the midnight after the newest row: the seeds' 2026-11-01.
    again = runner.invoke(model, ["train", str(project)])
    assert again.exit_code == 0 and "2026-05-05T00:00:00Z" in again.output


def test_model_commands_fail_cleanly(tmp_path):
    runner = CliRunner()
    nowhere = runner.invoke(model, ["train", str(tmp_path)])
    assert nowhere.exit_code == 2 and "no segdsl.toml" in nowhere.output
    project = _project_copy(tmp_path, "golf")
    bad = runner.invoke(model, ["train", str(project), "--as-of", "yesterday"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
    # Too early: no history before the cutoff, so there is nothing to learn from.
    early = runner.invoke(model, ["train", str(project), "--as-of", "2020-01-01"])
    assert early.exit_code == 1 and "cannot train" in early.output and "Traceback" not in early.output
    (project / "data" / "engagement_events.csv").rename(project / "events.csv")
    missing = runner.invoke(model, ["train", str(project)])
    assert missing.exit_code == 1 and "engagement_events.csv is missing" in missing.output
    (project / "events.csv").rename(project / "data" / "engagement_events.csv")
    (project / "data" / "tee_times.csv").write_text("tee_time_id,member_id\n1,x\n", encoding="utf-8")
    broken = runner.invoke(model, ["train", str(project)])
    assert broken.exit_code == 1 and "tee_times.csv" in broken.output and "Traceback" not in broken.output


@pytest.mark.parametrize("domain", DOMAINS)
def test_models_read_only_their_columns_and_default_to_the_same_as_of(domain, data, tmp_path):
    from segdsl.data.tables import load_table
    from segdsl.backends.memory.profile import load_source
    from segdsl.schema.model import Kind

    loaded = data[domain]
    schema, seeds = loaded.schema, ROOT / "seeds" / domain
    full = {n: load_source(schema.sources[n], seeds) for n in loaded.sources}
    # Some column is left out at load ...
    assert any(set(full[n].columns) - set(t.columns) for n, t in loaded.sources.items())
    whole = ModelData(schema, load_table(schema, seeds), full, loaded.exprs, loaded.keys)
    # ... yet the default as-of is the one every column of the sources gives, even when
    # the dated columns themselves were left out and must be read afresh,
    assert loaded.default_as_of() == whole.default_as_of() == AS_OF
    undated = {}
    for n in loaded.sources:
        keep = [f.column for f in schema.sources[n].fields.values() if f.kind not in (Kind.DATE, Kind.TIMESTAMP)]
        undated[n] = load_source(schema.sources[n], seeds, columns=keep)
    assert all(set(t.columns) < set(full[n].columns) for n, t in undated.items())
    bare = ModelData(schema, loaded.entity, undated, loaded.exprs, loaded.keys, seeds)
    assert bare.default_as_of() == AS_OF
    # and so are the features.
    names = list(loaded.exprs)
    pruned, reference = loaded.eval(names, AS_OF), whole.eval(names, AS_OF)
    for name in names:
        np.testing.assert_array_equal(pruned[name], reference[name], err_msg=name)
