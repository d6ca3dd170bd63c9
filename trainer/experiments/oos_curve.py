"""The in-scope / out-of-scope trade-off of an exported intent model, for both threshold scores.

Runs the model directory (through the runtime loader) on the validation and test files and, for the
`probability` and the `energy` score (see interplay.plugins.nlu.classifier.oos_confidence), picks on
validation the threshold that rejects the most while validation in-scope accuracy stays >= each floor,
then reports the test figures at it. Also the manifest's own threshold. Writes
bench/results/clinc_oos_curve.json.

    nice .venv/bin/python trainer/experiments/oos_curve.py --model runs/clinc_energy/model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from interplay.plugins.nlu import OnnxTextClassifier, oos_confidence, softmax
from interplay.trainer.classifier.data import read_examples
from interplay.trainer.classifier.evaluate import apply_threshold, choose_threshold, oos_scores

FLOORS = (0.94, 0.95, 0.955, 0.96, 0.965, 0.97)


def logits_and_labels(clf: OnnxTextClassifier, path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = read_examples(path)
    logits = np.concatenate([clf.logits([e.text for e in rows[i : i + 64]]) for i in range(0, len(rows), 64)])
    return logits, np.array([clf.labels.index(str(e.label)) for e in rows])


def at(split: tuple[np.ndarray, np.ndarray], oos: int, kind: str, t: float | None) -> dict[str, float]:
    logits, y = split
    preds = apply_threshold(softmax(logits), oos, t, oos_confidence(logits, oos, kind))  # type: ignore[arg-type]
    return {k: round(v, 4) for k, v in oos_scores(y, preds, oos).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("runs/clinc_energy/model"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/clinc150"))
    p.add_argument("--out", type=Path, default=Path("bench/results/clinc_oos_curve.json"))
    args = p.parse_args()
    clf = OnnxTextClassifier(args.model, threads=2, device="cpu")
    oos = clf.labels.index("oos")
    val, test = (logits_and_labels(clf, args.data / f"{s}.csv") for s in ("validation", "test"))
    result: dict = {
        "model": str(args.model),
        "precision": clf.model.manifest.precision,
        "manifest": {
            "oos_score": clf.oos_score,
            "threshold": clf.threshold,
            "validation": at(val, oos, clf.oos_score, clf.threshold),
            "test": at(test, oos, clf.oos_score, clf.threshold),
        },
        "no_threshold": {
            "validation": at(val, oos, "probability", None),
            "test": at(test, oos, "probability", None),
        },
        "by_floor": {},
    }
    print(f"{'score':12} {'val floor':>9} {'threshold':>9} {'val in/oos':>14} {'test in/oos':>14}")
    for kind in ("probability", "energy"):
        conf = oos_confidence(val[0], oos, kind)  # type: ignore[arg-type]
        for floor in FLOORS:
            t, _ = choose_threshold(softmax(val[0]), val[1], oos, floor, conf)
            row = {"threshold": t, "validation": at(val, oos, kind, t), "test": at(test, oos, kind, t)}
            result["by_floor"][f"{kind}>={floor}"] = row
            v, s = row["validation"], row["test"]
            print(
                f"{kind:12} {floor:9.3f} {t:9.4f} "
                f"{100 * v['in_scope_accuracy']:6.2f}/{100 * v['oos_recall']:5.1f}  "
                f"{100 * s['in_scope_accuracy']:6.2f}/{100 * s['oos_recall']:5.1f}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
