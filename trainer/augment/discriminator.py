"""The discriminator: real vs. generated, a logistic-regression head on frozen sentence embeddings.

Why this and not a fine-tuned encoder: it is retrained every round, and on a CPU a head on cached
MiniLM embeddings trains in well under a second while fine-tuning MiniLM takes minutes per round. The
embeddings carry topic, register and fluency, which is what separates the small LM's slips from
people's requests. Generated texts are scored out of fold (K-fold over the fakes), so no score comes
from a head that saw that very text as a fake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DiscriminatorReport:
    """How well the discriminator separates real from generated in one round (out of fold)."""

    real: int
    fake: int
    fake_mean_score: float
    real_mean_score: float
    auc: float | None


class Discriminator:
    """P(real | text) from embeddings; refit each round on real rows and the newest fakes."""

    def __init__(self, folds: int = 2, c: float = 1.0, seed: int = 0) -> None:
        self.folds = folds
        self.c = c
        self.seed = seed
        self.last_report: DiscriminatorReport | None = None

    def _head(self) -> object:
        from sklearn.linear_model import LogisticRegression

        # balanced: a few hundred fakes against thousands of real rows must still count
        return LogisticRegression(C=self.c, class_weight="balanced", max_iter=1000)

    def fit_score(self, real: np.ndarray, fake: np.ndarray) -> np.ndarray:
        """Out-of-fold P(real) for every fake row; also fills `last_report`."""
        if not len(fake) or not len(real):
            raise ValueError("the discriminator needs real and generated rows")
        folds = min(self.folds, len(fake), len(real))
        rng = np.random.default_rng(self.seed)
        fold_of_fake = rng.permutation(len(fake)) % folds
        fold_of_real = rng.permutation(len(real)) % folds
        fake_scores = np.zeros(len(fake), dtype=np.float64)
        real_scores = np.zeros(len(real), dtype=np.float64)
        for k in range(folds):
            # with a single fold (one fake) it fits on everything: the only case scored in sample
            fit_f = fold_of_fake != k if folds > 1 else np.ones(len(fake), bool)
            fit_r = fold_of_real != k if folds > 1 else np.ones(len(real), bool)
            head = self._head()
            x = np.concatenate([real[fit_r], fake[fit_f]])
            y = np.concatenate([np.ones(fit_r.sum()), np.zeros(fit_f.sum())])
            head.fit(x, y)  # type: ignore[attr-defined]
            score_f = ~fit_f if folds > 1 else fit_f
            score_r = ~fit_r if folds > 1 else fit_r
            fake_scores[score_f] = head.predict_proba(fake[score_f])[:, 1]  # type: ignore[attr-defined]
            real_scores[score_r] = head.predict_proba(real[score_r])[:, 1]  # type: ignore[attr-defined]
        self.last_report = DiscriminatorReport(
            len(real),
            len(fake),
            float(fake_scores.mean()),
            float(real_scores.mean()),
            _auc(real_scores, fake_scores),
        )
        return fake_scores


def _auc(real: np.ndarray, fake: np.ndarray) -> float | None:
    """ROC AUC of real vs. fake scores (0.5: the discriminator cannot tell them apart)."""
    if not len(real) or not len(fake):
        return None
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
    return float(roc_auc_score(y, np.concatenate([real, fake])))
