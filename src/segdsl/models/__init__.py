"""The models behind smart segments: a churn model trained on the CRM's history and an
engagement score, both written to the ``model_scores`` source table that the schema's
``latest(model_scores.score ...)`` traits read. See ``docs/models.md``.

Features, population and labels are segdsl expressions (``specs.py``), evaluated by the
same profile builder that sizes segments (``features.py``); the regression and its
measures are plain numpy (``logistic.py``); ``train.py`` ties them together.
"""

from segdsl.models.features import Feature, ModelError
from segdsl.models.train import ModelRun, read_reports, score_models, train_models, write_run

__all__ = ["Feature", "ModelError", "ModelRun", "read_reports", "score_models", "train_models", "write_run"]
