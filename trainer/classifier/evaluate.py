"""Predictions and metrics: accuracy, macro-F1, per-class scores and out-of-scope figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from interplay.plugins.nlu import softmax

from .batches import Encoded, collate, ordered_batches


@torch.no_grad()
def predict_logits(
    model: Any, enc: Encoded, *, batch_size: int, pad_id: int, device: torch.device
) -> np.ndarray:
    """Logits for every row of `enc`, in the original order."""
    model.eval()
    n_labels = model.config.num_labels
    out = np.zeros((len(enc), n_labels), dtype=np.float32)
    for index in ordered_batches(enc, batch_size):
        batch = collate(enc, index, pad_id, device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        out[index] = logits.float().cpu().numpy()
    return out


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    probs = softmax(logits.astype(np.float64))
    return float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    per_class = {
        labels[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i in ids
    }
    present = [i for i in ids if s[i] > 0]  # classes absent from this split would drag macro-F1 to 0
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "examples": len(y_true),
        "per_class": per_class,
    }


def apply_threshold(
    probs: np.ndarray, oos_id: int | None, threshold: float | None, scores: np.ndarray | None = None
) -> np.ndarray:
    """Predicted ids; a best guess whose score (default: its probability) is under `threshold` becomes
    `oos_id` (-1 when there is no oos class). `scores` come from the runtime's `oos_confidence`."""
    pred = probs.argmax(axis=1)
    if threshold is None:
        return pred
    reject = (probs.max(axis=1) if scores is None else scores) < threshold
    return np.where(reject, -1 if oos_id is None else oos_id, pred)


def oos_scores(y_true: np.ndarray, y_pred: np.ndarray, oos_id: int | None) -> dict[str, float]:
    """In-scope accuracy (a rejection counts as wrong) and out-of-scope recall and precision."""
    oos_true = y_true == (oos_id if oos_id is not None else -1)
    oos_pred = (y_pred == -1) | ((y_pred == oos_id) if oos_id is not None else False)
    in_scope = ~oos_true
    scores = {
        "in_scope_accuracy": float((y_pred[in_scope] == y_true[in_scope]).mean()) if in_scope.any() else 0.0
    }
    scores["oos_recall"] = float(oos_pred[oos_true].mean()) if oos_true.any() else 0.0
    scores["oos_precision"] = float(oos_true[oos_pred].mean()) if oos_pred.any() else 0.0
    return scores


def choose_threshold(
    probs: np.ndarray,
    y_true: np.ndarray,
    oos_id: int,
    min_in_scope: float | None = None,
    confidence: np.ndarray | None = None,
) -> tuple[float, dict[str, float]]:
    """The threshold on `confidence` (default: the best probability) chosen on validation.

    By default the one that maximizes (in-scope accuracy + oos recall) / 2. With `min_in_scope`
    (a fraction), the highest threshold (most out-of-scope rejected) whose in-scope accuracy stays
    at or above it; if none does, one that rejects nothing.
    """
    confidence = probs.max(axis=1) if confidence is None else confidence
    lowest = min(0.0, float(np.floor(confidence.min() * 1e4) / 1e4))  # rejects nothing
    best_t, best_score, best = lowest, -1.0, {}
    for t in np.unique(np.concatenate([[lowest], np.round(confidence, 4)])):
        preds = apply_threshold(probs, oos_id, float(t), confidence)
        scores = oos_scores(y_true, preds, oos_id)
        balanced = (scores["in_scope_accuracy"] + scores["oos_recall"]) / 2
        if min_in_scope is not None:
            if scores["in_scope_accuracy"] >= min_in_scope - 1e-9 or not best:
                best_t, best_score, best = float(t), balanced, scores
        elif balanced > best_score + 1e-9:
            best_t, best_score, best = float(t), balanced, scores
    return best_t, {**best, "balanced": best_score}


def most_confused(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], top: int = 15) -> list[str]:
    """The labels involved in the most errors (for a readable confusion matrix)."""
    errors: dict[int, int] = {}
    for t, p in zip(y_true, y_pred, strict=True):
        if t != p:
            errors[int(t)] = errors.get(int(t), 0) + 1
            if p >= 0:
                errors[int(p)] = errors.get(int(p), 0) + 1
    ranked = sorted(errors, key=lambda i: -errors[i])[:top]
    return [labels[i] for i in sorted(ranked)] if ranked else labels[:top]
