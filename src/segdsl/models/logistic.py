"""Logistic regression and its quality measures, in numpy alone.

The fit is Newton's method (iteratively reweighted least squares) on standardized
features with an L2 penalty on the weights (not on the intercept). It is deterministic:
no random start, no sampling, a fixed iteration order.
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale


def sigmoid(z: np.ndarray) -> np.ndarray:
    # Two branches keep exp() from overflowing for large |z|.
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 100,
                 tol: float = 1e-10) -> tuple[float, np.ndarray]:
    """Weights minimising ``-loglik + l2/2 · |w|²``: (intercept, coefficients)."""
    n, k = x.shape
    design = np.column_stack([np.ones(n), x])
    penalty = np.full(k + 1, float(l2))
    penalty[0] = 0.0
    w = np.zeros(k + 1)
    y = y.astype(np.float64)
    for _ in range(max_iter):
        p = sigmoid(design @ w)
        grad = design.T @ (y - p) - penalty * w
        hess = (design * (p * (1.0 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hess + 1e-12 * np.eye(k + 1), grad)
        w = w + step
        if np.max(np.abs(step)) < tol:
            break
    return float(w[0]), w[1:]


def predict(intercept: float, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return sigmoid(intercept + x @ coef)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting one half (the Mann-Whitney U statistic with average ranks).
    NaN when either class is empty."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    s = score[order]
    ranks = np.empty(len(s))
    # Average rank (1-based) over each run of equal scores.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def log_loss(y: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood (natural log) of the labels under ``p``."""
    y = np.asarray(y).astype(np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))
