"""The in-scope / out-of-scope trade-off of an exported intent model, threshold by threshold.

Runs the model directory (through the runtime loader) on the validation and test files, sweeps the
confidence threshold, and reports the test figures at thresholds picked on validation by several rules:
the trainer's balanced rule, and "highest threshold whose validation in-scope accuracy stays >= X".
Writes bench/results/clinc_oos_curve.json.

    nice .venv/bin/python trainer/experiments/oos_curve.py --model runs/clinc_full/model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from interplay.plugins.nlu.classifier import OnnxTextClassifier
from interplay.trainer.classifier.data import read_examples
from interplay.trainer.classifier.evaluate import apply_threshold, oos_scores


def probs_and_labels(clf: OnnxTextClassifier, path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = read_examples(path)
    probs = np.concatenate(
        [clf.probabilities([e.text for e in rows[i : i + 64]]) for i in range(0, len(rows), 64)]
    )
    return probs, np.array([clf.labels.index(str(e.label)) for e in rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("runs/clinc_full/model"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/clinc150"))
    p.add_argument("--out", type=Path, default=Path("bench/results/clinc_oos_curve.json"))
    args = p.parse_args()
    clf = OnnxTextClassifier(args.model, threads=2, device="cpu")
    oos = clf.labels.index("oos")
    val, test = (probs_and_labels(clf, args.data / f"{s}.csv") for s in ("validation", "test"))
    curve = []
    for t in [None, *np.round(np.arange(0.05, 1.0, 0.01), 2).tolist()]:
        row = {"threshold": t}
        for name, (probs, y) in (("validation", val), ("test", test)):
            scores = oos_scores(y, apply_threshold(probs, oos, t), oos)
            row[name] = {k: round(v, 4) for k, v in scores.items()}
        curve.append(row)
        print(
            t,
            row["validation"]["in_scope_accuracy"],
            row["validation"]["oos_recall"],
            row["test"]["in_scope_accuracy"],
            row["test"]["oos_recall"],
            flush=True,
        )
    picks = {"manifest_threshold": _at(curve, clf.threshold, val, test, oos)}
    for floor in (0.93, 0.94, 0.95):
        ok = [r for r in curve if r["threshold"] and r["validation"]["in_scope_accuracy"] >= floor]
        if ok:
            picks[f"val_in_scope>={floor}"] = max(ok, key=lambda r: r["threshold"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "model": str(args.model),
                "precision": clf.model.manifest.precision,
                "picks": picks,
                "curve": curve,
            },
            indent=1,
        )
        + "\n"
    )
    print(json.dumps(picks, indent=1))


def _at(curve: list[dict], t: float | None, val: tuple, test: tuple, oos: int) -> dict:
    row: dict = {"threshold": t}
    for name, (probs, y) in (("validation", val), ("test", test)):
        row[name] = oos_scores(y, apply_threshold(probs, oos, t), oos)
    return row


if __name__ == "__main__":
    main()
