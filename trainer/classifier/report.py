"""A run's reports: metrics.json, report.md and PNG plots (learning curves, most-confused labels)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .evaluate import most_confused
from .train import EpochRecord


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: list[EpochRecord], path: Path) -> Path:
    """Loss and accuracy per epoch, training and validation."""
    plt = _pyplot()
    epochs = [r.epoch for r in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [r.train_loss for r in history], marker="o", label="train")
    if any(r.val_loss is not None for r in history):
        left.plot(epochs, [r.val_loss for r in history], marker="o", label="validation")
    left.set(title="loss", xlabel="epoch")
    right.plot(epochs, [r.train_accuracy for r in history], marker="o", label="train")
    if any(r.val_accuracy is not None for r in history):
        right.plot(epochs, [r.val_accuracy for r in history], marker="o", label="validation accuracy")
        right.plot(epochs, [r.val_macro_f1 for r in history], marker="s", label="validation macro-F1")
    right.set(title="accuracy", xlabel="epoch", ylim=(0, 1.02))
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], path: Path, top: int = 15
) -> Path:
    """Confusion matrix restricted to the labels involved in the most errors."""
    plt = _pyplot()
    names = most_confused(y_true, y_pred, labels, top)
    index = {labels.index(n): k for k, n in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        if int(t) in index and int(p) in index:
            matrix[index[int(t)], index[int(p)]] += 1
    size = max(5, 0.45 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title="most confused labels")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Pretty JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


_OOS_METHODS = {
    "oos_class": "argmax, oos trained as a class (test)",
    "validation_threshold": "confidence threshold (validation, where it was chosen)",
    "threshold_method": "confidence threshold (test)",
}


def _fmt(value: Any) -> str:
    return f"{100 * value:.2f}" if isinstance(value, float) else str(value)


def _worst_classes(per_class: dict[str, dict[str, Any]], n: int = 10) -> list[str]:
    ranked = sorted(per_class.items(), key=lambda kv: kv[1]["f1"])[:n]
    return [
        f"| {name} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {m['support']} |"
        for name, m in ranked
    ]


def _method(metrics: dict[str, Any]) -> str:
    if metrics.get("method") == "embedding-head":
        return f"frozen encoder + {_head_name(metrics)}"
    return "GAN-BERT" if metrics["config"]["gan"] else "fine-tuned"


def _head_name(metrics: dict[str, Any]) -> str:
    return "token head" if (metrics.get("recipe") or {}).get("head") == "tokens" else "linear head"


def _recipe_lines(recipe: dict[str, Any] | None) -> list[str]:
    """The recipe the run used and, where the data chose it, why."""
    if not recipe:
        return []
    reasons = recipe.get("reasons", {})
    lines = ["", "## Recipe", "", "| setting | value | chosen because |", "|---|---|---|"]
    for key, value in recipe.items():
        if key != "reasons":
            lines.append(f"| {key} | {value} | {reasons.get(key, '')} |")
    return lines


def write_report(run_dir: Path, metrics: dict[str, Any]) -> Path:
    """report.md: the headline figures, out-of-scope results, the weakest classes and the plots."""
    test = metrics["test"]
    lines = [f"# {metrics['kind']} classifier ({_method(metrics)})", ""]
    if metrics.get("method") == "embedding-head":
        head = (
            "an MLP over the token states of its last layers, max- and mean-pooled"
            if _head_name(metrics) == "token head"
            else "mean pooling + logistic regression"
        )
        lines.append(
            f"Base encoder: `{metrics['base_model']}` (frozen, {metrics['config']['precision']}) + {head}, "
            f"trained on {metrics['data']['labeled']} examples; {metrics['seconds']:.0f} s "
            "(embedding and head)."
        )
    else:
        lines.append(
            f"Base encoder: `{metrics['base_model']}`; {metrics['data']['labeled']} labeled and "
            f"{metrics['data']['unlabeled']} unlabeled training examples; best epoch {metrics['best_epoch']} "
            f"of {len(metrics['history'])}; {metrics['seconds']:.0f} s."
        )
    lines += _recipe_lines(metrics.get("recipe"))
    lines += [
        "",
        f"| split ({test['split']}) | accuracy | macro-F1 | examples |",
        "|---|---|---|---|",
        f"| {test['split']} | {_fmt(test['accuracy'])} | {_fmt(test['macro_f1'])} | {test['examples']} |",
    ]
    if metrics.get("oos"):
        lines += [
            "",
            "## Out of scope",
            "",
            "| method | in-scope accuracy | oos recall | oos precision |",
            "|---|---|---|---|",
        ]
        for method, s in metrics["oos"].items():
            if isinstance(s, dict):
                method = _OOS_METHODS.get(method, method)
                lines.append(
                    f"| {method} | {_fmt(s['in_scope_accuracy'])} | {_fmt(s['oos_recall'])} | "
                    f"{_fmt(s['oos_precision'])} |"
                )
        lines.append(
            f"\nThreshold chosen on validation: {metrics['oos'].get('threshold')} "
            f"(on the {metrics['oos'].get('oos_score', 'probability')} score)"
        )
    lines += [
        "",
        "## Weakest classes",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    lines += _worst_classes(test["per_class"])
    if metrics["history"]:
        lines += ["", "![learning curves](history.png)"]
    lines += ["", "![most confused labels](confusion.png)", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_folds_report(run_dir: Path, metrics: dict[str, Any]) -> Path:
    """report.md for a cross-validation run: one row per fold and the mean."""
    lines = [
        f"# {metrics['kind']} classifier: {len(metrics['folds'])}-fold cross-validation",
        "",
        "| fold | accuracy | macro-F1 | best epoch |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {f['fold']} | {_fmt(f['accuracy'])} | {_fmt(f['macro_f1'])} | {f['best_epoch']} |"
        for f in metrics["folds"]
    ]
    lines.append(
        f"| mean ± std | {_fmt(metrics['accuracy_mean'])} ± {_fmt(metrics['accuracy_std'])} | "
        f"{_fmt(metrics['macro_f1_mean'])} ± {_fmt(metrics['macro_f1_std'])} | |"
    )
    path = run_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
