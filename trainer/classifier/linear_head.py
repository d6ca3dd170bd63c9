"""The linear head of embedding-head models: logistic regression on frozen sentence embeddings.

Features are standardized for the solver, and the scaling is folded back into the weights, so the
head is one MatMul + Add on the raw embedding (`logits = x @ weight.T + bias`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """Weights over raw embeddings: one row per label."""

    weight: np.ndarray  # (labels, width)
    bias: np.ndarray  # (labels,)
    c: float
    oos_weight: float | None = None
    iterations: int = 0

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Scores per label, as the exported graph computes them."""
        return np.asarray(x, dtype=np.float32) @ self.weight.T.astype(np.float32) + self.bias.astype(
            np.float32
        )


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    *,
    c: float = 1.0,
    oos_id: int | None = None,
    oos_weight: float | None = None,
    max_iter: int = 500,
) -> LinearHead:
    """Multinomial logistic regression (L2, strength 1/c); `oos_weight` weighs the oos class's rows."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights = None
    if oos_id is not None and oos_weight:
        weights = np.where(y == oos_id, oos_weight, 1.0)
    model = LogisticRegression(C=c, max_iter=max_iter, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few hundred steps are plenty here
        model.fit((x - mean) / std, y, sample_weight=weights)
    if len(model.classes_) != n_labels:
        raise ValueError(f"the training rows cover {len(model.classes_)} of {n_labels} labels")
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # sklearn's binary form: one score for class 1
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    weight = coef / std
    bias = intercept - weight @ mean
    return LinearHead(weight, bias, c, oos_weight, int(np.max(model.n_iter_)))
