"""Train the churn model, compute the engagement score, and write ``model_scores``.

Churn: features at ``cutoff = as_of − 180 days``, label "no activity in the 180 days
from the cutoff date" (evaluated at ``as_of``), a deterministic 25 % holdout drawn by
the one bucketing rule of ``in holdout`` (:func:`segdsl.ir.semantics.bucket`) under a
salt of its own, logistic regression on the other 75 %. The model is then applied to the
features at ``as_of`` for every entity in the population; its score is
``round(100·p)`` (half up). Engagement: a fixed formula over recent events.

The outputs are a pure function of the data and the as-of instant: the same data gives
the same bytes. Parameters are rounded before they score anything, so the JSON report
holds exactly the model that produced the CSV.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import attrs
import numpy as np

from segdsl.data.tables import EPOCH, US_PER_DAY, Table, load_table, write_csv
from segdsl.ir.semantics import BUCKETS, bucket, share_buckets
from segdsl.models import logistic
from segdsl.models.features import Compiled, ModelError, compile_expr, evaluate, transform
from segdsl.models.specs import CHURN, ENGAGEMENT, HORIZON_DAYS, ChurnSpec, EngagementSpec
from segdsl.schema.model import Kind, Schema

UTC = dt.timezone.utc
L2 = 1.0
#: The churn model's holdout is what ``holdout churn_holdout 25% salt "segdsl-churn-holdout"``
#: would select: the entities whose bucket under HOLDOUT_SALT is below HOLDOUT_PERCENT % of
#: the BUCKETS (``segdsl.ir.semantics``, the rule splits and holdouts use on every engine).
HOLDOUT_SALT = "segdsl-churn-holdout"
HOLDOUT_PERCENT = Decimal(25)
HOLDOUT_BUCKETS = share_buckets(HOLDOUT_PERCENT)
SCORES_SOURCE = "model_scores"
MODELS_DIR = "models"
_PLACES = 6  # decimals kept for every model parameter


@attrs.frozen
class ModelRun:
    """One training run: the two reports (as written to JSON) and the score rows."""

    churn: dict
    engagement: dict
    scores: Table  # the model_scores rows


# ------------------------------------------------------------------------ entry points


def train_models(schema: Schema, data_dir: Path, as_of: dt.datetime | None = None) -> ModelRun:
    """Train churn and compute engagement on the CSV data in ``data_dir``; with no
    ``as_of``, the UTC midnight after the newest row the models read."""
    spec = churn_spec(schema)
    data = ModelData.load(schema, data_dir, spec, ENGAGEMENT)
    as_of = _utc(as_of) if as_of is not None else data.default_as_of()
    churn, churn_scores = _train_churn(data, spec, as_of)
    engagement, engagement_scores = _engagement(data, ENGAGEMENT, as_of)
    del data  # the tables, before the score rows are built
    return ModelRun(churn, engagement, _score_rows(schema, as_of, churn_scores, engagement_scores))


def score_models(schema: Schema, data_dir: Path, churn_report: Mapping, as_of: dt.datetime | None = None) -> ModelRun:
    """Score with a saved churn model (no retraining) and recompute engagement."""
    spec = churn_spec(schema)
    data = ModelData.load(schema, data_dir, spec, ENGAGEMENT)
    as_of = _utc(as_of) if as_of is not None else data.default_as_of()
    model = _SavedModel.from_report(churn_report, spec)
    scores = _apply(data, spec, model, as_of)
    values = np.array(list(scores.values()), dtype=float)
    summary = {**churn_report.get("score", {}), "scored_at": _stamp(as_of), **_summary(values)}
    report = {**churn_report, "score": summary}
    engagement, engagement_scores = _engagement(data, ENGAGEMENT, as_of)
    del data  # the tables, before the score rows are built
    return ModelRun(report, engagement, _score_rows(schema, as_of, scores, engagement_scores))


def write_run(schema: Schema, run: ModelRun, data_dir: Path, reports: bool = True) -> list[Path]:
    """Write ``model_scores.csv`` (and the JSON reports) into ``data_dir``, each file
    atomically. The scores file's lock is held throughout, so runs side by side leave
    the scores and the reports of one run, not a mix."""
    from segdsl.data.files import locked, write_atomic

    source = scores_source(schema)
    data_dir = Path(data_dir)
    out = [data_dir / f"{source.table}.csv"]
    with locked(out[0]):
        if reports:
            folder = data_dir / MODELS_DIR
            folder.mkdir(exist_ok=True)
            for name, report in (("churn", run.churn), ("engagement", run.engagement)):
                path = folder / f"{name}.json"
                write_atomic(path, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
                out.append(path)
        # The scores last: smart segments read them, and they match the reports now on disk.
        write_csv(source, run.scores, out[0])
    return out


def read_reports(data_dir: Path) -> dict[str, dict]:
    """The saved reports, by model name; ModelError when there are none."""
    out = {}
    for name in ("churn", "engagement"):
        path = Path(data_dir) / MODELS_DIR / f"{name}.json"
        try:
            out[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"no saved model report at {path}; run `segdsl model train` first") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path} is not a model report: {exc}") from None
    return out


def churn_spec(schema: Schema) -> ChurnSpec:
    spec = CHURN.get(schema.entity)
    if spec is None:
        known = ", ".join(f"`{e}`" for e in CHURN)
        raise ModelError(f"no churn model is defined for the entity `{schema.entity}` (models exist for {known})")
    return spec


def scores_source(schema: Schema) -> Schema:
    source = schema.sources.get(SCORES_SOURCE)
    if source is None:
        raise ModelError(f"the schema declares no `[sources.{SCORES_SOURCE}]` table to write scores to")
    model = source.field("model")
    needed = {"model", "score", "scored_at"}
    if not needed <= set(source.fields) or model is None or not {"churn", "engagement"} <= set(model.type.values):
        raise ModelError(f"`{SCORES_SOURCE}` needs columns model (enum with churn, engagement), score, scored_at")
    return source


# ---------------------------------------------------------------------------- data


@attrs.define
class ModelData:
    """The entity table, the source tables the models read, and every model expression
    compiled against the schema; ``eval`` computes expressions at an instant."""

    schema: Schema
    entity: Table
    sources: dict[str, Table]
    exprs: dict[str, Compiled]
    keys: np.ndarray
    data_dir: Path | None = None  # where `load` read the tables, for columns it left out

    @classmethod
    def load(cls, schema: Schema, data_dir: Path, spec: ChurnSpec | None = None,
             engagement: EngagementSpec = ENGAGEMENT) -> ModelData:
        from segdsl.backends.memory.profile import load_source, source_columns

        spec = spec or churn_spec(schema)
        texts = {f.name: f.expr for f in spec.features}
        texts |= {"_population": spec.population, "_outcome": spec.outcome, "_history": engagement.history}
        texts |= {name: expr for name, expr, _ in engagement.terms}
        exprs = {name: compile_expr(schema, text, name) for name, text in texts.items()}
        # Only the columns the expressions read: a wide source's other columns never load.
        wanted = source_columns(c.field for c in exprs.values() if not c.days_since)
        needed = sorted(wanted)
        if data_dir is None or not Path(data_dir).is_dir():
            raise ModelError(f"no data directory `{data_dir}`")
        for name in needed:
            path = Path(data_dir) / f"{schema.sources[name].table}.csv"
            if not path.is_file():
                raise ModelError(f"{path} is missing: the models read the `{name}` table")
        try:
            # The entity's key and the fields `days_since` reads; names and contacts stay on disk.
            entity = load_table(schema, data_dir, columns=[c.field.column for c in exprs.values() if c.days_since])
            sources = {name: load_source(schema.sources[name], data_dir, columns=wanted[name]) for name in needed}
        except OSError as exc:
            raise ModelError(f"cannot read the data in {data_dir}: {exc}") from None
        keys = np.asarray(entity.keys(), dtype=object)
        return cls(schema, entity, sources, exprs, keys, Path(data_dir))

    def eval(self, names, as_of: dt.datetime) -> dict[str, np.ndarray]:
        return evaluate(self.schema, self.entity, self.sources, {n: self.exprs[n] for n in names}, as_of)

    def default_as_of(self) -> dt.datetime:
        """The UTC midnight after the newest date or instant in the tables read."""
        from segdsl.backends.memory.profile import load_source

        newest = None
        for name, table in self.sources.items():
            source = self.schema.sources[name]
            dated = [f for f in source.fields.values() if f.kind in (Kind.DATE, Kind.TIMESTAMP)]
            columns = dict(table.columns)
            unread = [f.column for f in dated if f.column not in columns]
            if unread:  # left out at load, as no expression reads them: read just those now
                columns |= load_source(source, self.data_dir, columns=unread).columns
            for f in dated:
                col = columns[f.column]
                if not col.valid.any():
                    continue
                top = int(col.values[col.valid].max())
                day = top if f.kind is Kind.DATE else top // US_PER_DAY
                newest = day if newest is None else max(newest, day)
        if newest is None:
            raise ModelError("the data has no dated rows; pass --as-of")
        return EPOCH + dt.timedelta(days=newest + 1)


# --------------------------------------------------------------------------- churn


@attrs.frozen
class _SavedModel:
    mean: np.ndarray
    scale: np.ndarray
    intercept: float
    coef: np.ndarray

    @classmethod
    def from_report(cls, report: Mapping, spec: ChurnSpec) -> _SavedModel:
        try:
            feats = report["features"]
            names = [f["name"] for f in feats]
            if names != [f.name for f in spec.features]:
                raise ModelError("the saved churn model has other features than this version of segdsl; retrain it")
            column = lambda key: np.array([f[key] for f in feats], dtype=float)  # noqa: E731
            return cls(column("mean"), column("scale"), float(report["intercept"]), column("coefficient"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the saved churn report is incomplete ({exc}); "
                             "retrain with `segdsl model train`") from None

    def predict(self, x: np.ndarray) -> np.ndarray:
        return logistic.predict(self.intercept, self.coef, (x - self.mean) / self.scale)


def holdout_mask(keys: np.ndarray) -> np.ndarray:
    """True for the keys held out: those whose bucket under :data:`HOLDOUT_SALT` is below
    :data:`HOLDOUT_BUCKETS` (the first 25 % of the buckets). Depends on the key alone:
    the same on every run, machine and engine."""
    return np.array([bucket(HOLDOUT_SALT, k) < HOLDOUT_BUCKETS for k in keys.tolist()], dtype=bool)


def _train_churn(data: ModelData, spec: ChurnSpec, as_of: dt.datetime) -> tuple[dict, dict]:
    cutoff = as_of - dt.timedelta(days=HORIZON_DAYS)
    names = [f.name for f in spec.features]
    at_cutoff = data.eval([*names, "_population"], cutoff)
    outcome = data.eval(["_outcome"], as_of)["_outcome"]
    population = at_cutoff["_population"] > 0
    y = (outcome == 0)[population]
    x = transform(spec.features, at_cutoff)[population]
    hold = holdout_mask(data.keys[population])
    train = ~hold
    for part, mask in (("training", train), ("holdout", hold)):
        n, k = int(mask.sum()), int(y[mask].sum())
        if k == 0 or k == n:
            raise ModelError(f"cannot train: the {part} set at the cutoff {_stamp(cutoff)} has {n} entities, "
                             f"{k} of them churned; the data needs history before the cutoff and both outcomes")
    std = logistic.Standardizer.fit(x[train])
    intercept, coef = logistic.fit_logistic(std.apply(x[train]), y[train], L2)
    model = _SavedModel(_round(std.mean), _round(std.scale), round(intercept, _PLACES), _round(coef))
    p = model.predict(x)
    prior = float(y[train].mean())

    def metrics(mask: np.ndarray) -> dict:
        return {"entities": int(mask.sum()), "churned": int(y[mask].sum()),
                "base_rate": _r4(y[mask].mean()), "auc": _r4(logistic.auc(y[mask], p[mask])),
                "log_loss": _r4(logistic.log_loss(y[mask], p[mask])),
                "base_rate_log_loss": _r4(logistic.log_loss(y[mask], np.full(int(mask.sum()), prior)))}

    scores = _apply(data, spec, model, as_of)
    values = np.array(list(scores.values()), dtype=float)
    entity = data.schema.entity
    report = {
        "model": "churn",
        "entity": entity,
        "kind": "logistic regression (Newton/IRLS), L2 penalty on standardized features",
        "generated_by": f"segdsl model train --as-of {_stamp(as_of)}",
        "as_of": _stamp(as_of),
        "training_cutoff": _stamp(cutoff),
        "horizon_days": HORIZON_DAYS,
        "population": {"expression": spec.population, "rule": "expression > 0 at the as-of",
                       "doc": spec.population_doc},
        "label": {"expression": spec.outcome, "evaluated_at": _stamp(as_of),
                  "rule": "churned (1) when the expression is 0", "doc": spec.label_doc},
        "split": {"method": f"holdout when the key's bucket under the salt is below {HOLDOUT_BUCKETS:,} of "
                            f"{BUCKETS:,} (the bucket of `in holdout`, docs/language.md)",
                  "salt": HOLDOUT_SALT, "holdout_percent": int(HOLDOUT_PERCENT),
                  "train": int(train.sum()), "holdout": int(hold.sum())},
        "l2": L2,
        "base_rate": _r4(y.mean()),
        "train": metrics(train),
        "holdout": metrics(hold),
        "intercept": model.intercept,
        "features": [
            {**f.describe(), "mean": float(m), "scale": float(s), "coefficient": float(c)}
            for f, m, s, c in zip(spec.features, model.mean, model.scale, model.coef)
        ],
        "score": {"formula": "round(100 * p) half up, p = 1 / (1 + exp(-(intercept + sum(coefficient * "
                             "(transformed value - mean) / scale))))",
                  "scored_at": _stamp(as_of), **_summary(values)},
    }
    return report, scores


def _apply(data: ModelData, spec: ChurnSpec, model: _SavedModel, as_of: dt.datetime) -> dict:
    names = [f.name for f in spec.features]
    raw = data.eval([*names, "_population"], as_of)
    population = raw["_population"] > 0
    p = model.predict(transform(spec.features, raw)[population])
    return dict(zip(data.keys[population].tolist(), _percent(p).tolist()))


# ----------------------------------------------------------------------- engagement


def _engagement(data: ModelData, spec: EngagementSpec, as_of: dt.datetime) -> tuple[dict, dict]:
    names = [name for name, _, _ in spec.terms]
    raw = data.eval([*names, "_history"], as_of)
    has_history = raw["_history"] > 0
    points = sum(w * raw[name] for name, _, w in spec.terms)[has_history]
    score = _percent(1.0 - np.exp2(-points / spec.half))
    scores = dict(zip(data.keys[has_history].tolist(), score.tolist()))
    report = {
        "model": "engagement",
        "entity": data.schema.entity,
        "kind": "fixed formula (not trained)",
        "generated_by": f"segdsl model train --as-of {_stamp(as_of)}",
        "as_of": _stamp(as_of),
        "population": {"expression": spec.history, "rule": "expression > 0 at the as-of",
                       "doc": "entities with at least one engagement event before the as-of date"},
        "terms": [{"name": n, "expression": e, "weight": w} for n, e, w in spec.terms],
        "half_points": spec.half,
        "score": {"formula": f"round(100 * (1 - 2 ** (-points / {spec.half:g}))) half up, "
                             "points = sum(weight * term)",
                  "scored_at": _stamp(as_of), **_summary(score.astype(float))},
    }
    return report, scores


# --------------------------------------------------------------------------- output


def _score_rows(schema: Schema, as_of: dt.datetime, churn: dict, engagement: dict) -> Table:
    """The ``model_scores`` table: per entity key in order, its churn row then its
    engagement row, numbered from 1."""
    source = scores_source(schema)
    keys, models, scores = [], [], []
    for key in sorted(set(churn) | set(engagement)):
        for model, by_key in (("churn", churn), ("engagement", engagement)):
            if key in by_key:
                keys.append(key)
                models.append(model)
                scores.append(int(by_key[key]))
    n = len(keys)
    return Table.from_columns(source, {source.key.column: range(1, n + 1), source.entity_key: keys, "model": models,
                                       "score": scores, "scored_at": [as_of] * n}, f"<{source.table}>")


def _percent(p: np.ndarray) -> np.ndarray:
    """100·p rounded half up, as integers 0-100."""
    return np.clip(np.floor(100.0 * p + 0.5), 0, 100).astype(np.int64)


def _summary(values: np.ndarray) -> dict:
    n = len(values)
    out = {"entities": n, "at_least_50": int((values >= 50).sum()), "at_least_70": int((values >= 70).sum())}
    if n:
        q = np.percentile(values, [10, 50, 90], method="lower")
        out |= {"p10": int(q[0]), "median": int(q[1]), "p90": int(q[2])}
    return out


def _round(a: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(a, dtype=float), _PLACES)


def _r4(x) -> float:
    return round(float(x), 4)


def _utc(instant: dt.datetime) -> dt.datetime:
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC)


def _stamp(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
