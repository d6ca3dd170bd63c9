"""Selection rule, deduplication and the per-label cap."""

from __future__ import annotations

from collections import Counter

import numpy as np
from interplay.trainer.augment.proposer import Candidate
from interplay.trainer.augment.selection import LabelChecker, cap_per_label, dedupe, normalize, select


def c(text: str, label: str = "greet") -> Candidate:
    return Candidate(text, label, 1.0)


def test_normalize_ignores_case_punctuation_and_spacing() -> None:
    assert normalize("  Hello,   THERE! ") == normalize("hello there")
    assert normalize("hello there") != normalize("hello where")


def test_dedupe_against_training_data_and_among_samples() -> None:
    out = dedupe([c("Hi there!"), c("hello you"), c("HELLO you."), c("good day")], seen=["hi there"])
    assert [x.text for x in out] == ["hello you", "good day"]


def test_select_needs_both_score_and_label() -> None:
    cands = [c("a", "greet"), c("b", "greet"), c("c", "weather"), c("d", "weather")]
    scores = np.array([0.9, 0.2, 0.8, 0.7])
    predicted = ["greet", "greet", "greet", "weather"]
    assert select(cands, scores, predicted, threshold=0.5) == [True, False, False, True]
    assert select(cands, None, predicted, threshold=0.5) == [True, True, False, True]
    assert select(cands, scores, None, threshold=0.75) == [True, False, True, False]


def test_cap_per_label_prefers_high_scores_and_counts_earlier_accepts() -> None:
    cands = [c("a"), c("b"), c("c"), c("x", "weather")]
    kept = cap_per_label(cands, Counter({"greet": 1}), limit=2, scores=[0.1, 0.9, 0.5, 0.3])
    assert [k.text for k in kept] == ["b", "x"]


def test_label_checker_learns_separable_labels() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(2, 0.3, (10, 4)), rng.normal(-2, 0.3, (10, 4))])
    labels = ["a"] * 10 + ["b"] * 10
    checker = LabelChecker().fit(x, labels)
    assert checker.predict(np.array([[2.0] * 4, [-2.0] * 4])) == ["a", "b"]
