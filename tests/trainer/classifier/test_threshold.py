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


def test_threshold_on_another_score_can_be_negative_and_rejects_by_that_score() -> None:
    probs, y = _validation()
    # an energy-like score in logit units, ordered unlike the probabilities
    energy = np.array([3.0, 2.5, 2.0, 1.5, 1.0, -0.5, -1.0, -2.0, -2.5, 0.5])
    t, scores = choose_threshold(probs, y, OOS, confidence=energy)
    assert t == -0.5  # the lowest threshold that rejects the three low-energy oos rows (ties: least rejected)
    assert scores["in_scope_accuracy"] == 5 / 6 and scores["oos_recall"] == 1.0
    nothing, _ = choose_threshold(probs, y, OOS, min_in_scope=1.0, confidence=energy)
    assert nothing <= energy.min()  # "no threshold" is one that rejects nothing, even below zero
    assert (apply_threshold(probs, OOS, nothing, energy) == probs.argmax(1)).all()


def test_an_energy_model_rejects_in_the_runtime_exactly_as_the_trainer_reported(spec, fast_config) -> None:
    import json
    from dataclasses import replace

    from interplay.plugins.nlu.classifier import OnnxTextClassifier
    from interplay.trainer.classifier.data import read_examples
    from interplay.trainer.classifier.run import train_classifier

    spec = replace(spec, export=True, quantize=False, oos_score="energy")
    metrics = train_classifier(spec, fast_config)
    manifest = json.loads((spec.out / "model" / "manifest.json").read_text())
    assert manifest["oos_score"] == "energy" and manifest["threshold"] == metrics["oos"]["threshold"]
    assert "energy score" in (spec.out / "report.md").read_text()
    clf = OnnxTextClassifier(spec.out / "model", device="cpu")
    rows = read_examples(spec.test)
    predicted = [p.label for p in clf.predict([e.text for e in rows])]
    in_scope = [p == e.label for p, e in zip(predicted, rows, strict=True) if e.label != "oos"]
    oos = [p == "oos" for p, e in zip(predicted, rows, strict=True) if e.label == "oos"]
    reported = metrics["oos"]["threshold_method"]
    assert sum(in_scope) / len(in_scope) == reported["in_scope_accuracy"]
    assert sum(oos) / len(oos) == reported["oos_recall"]
