"""How the out-of-scope confidence threshold is chosen on validation."""

import numpy as np
from interplay.trainer.classifier.evaluate import apply_threshold, choose_threshold, oos_scores

OOS = 2


def _validation() -> tuple[np.ndarray, np.ndarray]:
    # Six in-scope rows (labels 0/1) with falling confidence, four oos rows; one in-scope row wrong.
    probs = np.array(
        [
            [0.95, 0.03, 0.02],
            [0.03, 0.90, 0.07],
            [0.80, 0.10, 0.10],
            [0.10, 0.70, 0.20],
            [0.60, 0.30, 0.10],
            [0.30, 0.55, 0.15],  # truly label 0: wrong however the threshold is set
            [0.65, 0.20, 0.15],  # oos rows the class alone misses
            [0.20, 0.50, 0.30],
            [0.40, 0.35, 0.25],
            [0.10, 0.10, 0.80],  # oos caught by the class
        ]
    )
    return probs, np.array([0, 1, 0, 1, 0, 0, OOS, OOS, OOS, OOS])


def test_default_rule_maximizes_the_mean_of_in_scope_accuracy_and_oos_recall() -> None:
    probs, y = _validation()
    t, scores = choose_threshold(probs, y, OOS)
    assert t == 0.7  # rejects the 0.65 oos row too, at the cost of the 0.6 in-scope row
    assert scores["in_scope_accuracy"] == 4 / 6 and scores["oos_recall"] == 1.0
    assert scores["balanced"] == (4 / 6 + 1.0) / 2


def test_min_in_scope_rejects_the_most_while_keeping_the_floor() -> None:
    probs, y = _validation()
    t, scores = choose_threshold(probs, y, OOS, min_in_scope=5 / 6)
    assert t == 0.6  # the next candidate, 0.65, would reject the 0.6 row: in-scope 4/6
    assert scores["in_scope_accuracy"] == 5 / 6 and scores["oos_recall"] == 3 / 4
    assert oos_scores(y, apply_threshold(probs, OOS, t), OOS) == {
        k: v for k, v in scores.items() if k != "balanced"
    }


def test_min_in_scope_that_no_threshold_meets_means_no_threshold() -> None:
    probs, y = _validation()
    t, scores = choose_threshold(probs, y, OOS, min_in_scope=1.0)
    assert t == 0.0
    assert scores["in_scope_accuracy"] == 5 / 6
