"""The discriminator: out-of-fold scores that separate real from generated when they differ."""

from __future__ import annotations

import numpy as np
from interplay.trainer.augment.discriminator import Discriminator


def test_separable_fakes_score_low_and_report_auc() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(1.0, 0.5, (60, 8))
    fake = np.concatenate([rng.normal(-1.0, 0.5, (20, 8)), rng.normal(1.0, 0.5, (20, 8))])
    d = Discriminator(folds=2, seed=0)
    scores = d.fit_score(real, fake)
    assert scores.shape == (40,)
    assert scores[:20].mean() < 0.3 < 0.5 < scores[20:].mean() + 0.2
    assert d.last_report is not None and d.last_report.auc is not None and d.last_report.auc > 0.7


def test_indistinguishable_fakes_get_middling_scores() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(0, 1, (200, 8))
    fake = rng.normal(0, 1, (200, 8))
    d = Discriminator(folds=2, seed=0)
    scores = d.fit_score(real, fake)
    assert 0.35 < scores.mean() < 0.65
    assert d.last_report is not None and abs(d.last_report.auc - 0.5) < 0.1


def test_on_sentence_embeddings(encoder) -> None:
    real = encoder(["hello there", "rain today", "bye now", "hi you", "sunny forecast", "farewell"])
    fake = encoder(["banana quantum", "guitar volcano"])
    scores = Discriminator(folds=2).fit_score(real, fake)
    assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()
