"""Sequence classification on an ONNX model directory: probabilities, top-k and the oos threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from interplay.core import ModelError

from .model_dir import Device, OnnxModel


@dataclass(frozen=True, slots=True)
class Prediction:
    """One text's result: the label to act on, its confidence and the best few labels."""

    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    below_threshold: bool = False


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


OosScore = Literal["probability", "energy"]


def oos_confidence(logits: np.ndarray, oos_index: int | None, kind: OosScore) -> np.ndarray:
    """Per row, the score the out-of-scope threshold applies to (higher: more likely in scope).

    "probability": the best softmax probability over all labels (the classic baseline).
    "energy": log-sum-exp of the in-scope labels' logits, the negative free energy of Liu et al.
    (NeurIPS 2020); it keeps the magnitude softmax throws away and separates out-of-scope
    messages better (docs/nlu.md has the CLINC150 figures). Its threshold is in logit units.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if kind == "probability":
        return softmax(logits).max(axis=-1)  # type: ignore[no-any-return]
    in_scope = logits if oos_index is None else np.delete(logits, oos_index, axis=-1)
    top = in_scope.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(in_scope - top).sum(axis=-1, keepdims=True)))[..., 0]  # type: ignore[no-any-return]


def decide(
    probs: np.ndarray,
    labels: list[str],
    *,
    top_k: int,
    threshold: float | None,
    oos_label: str | None,
    score: float | None = None,
) -> Prediction:
    """Turn one probability row into a Prediction; when `score` (default: the best probability) is
    under `threshold`, the answer is `oos_label`."""
    order = np.argsort(-probs)[: max(1, top_k)]
    top = tuple((labels[i], float(probs[i])) for i in order)
    label, confidence = top[0]
    score = confidence if score is None else score
    if threshold is not None and oos_label and label != oos_label and score < threshold:
        # confidence in "oos" is what the model did not give its best in-scope guess
        return Prediction(oos_label, 1.0 - confidence, top, below_threshold=True)
    return Prediction(label, confidence, top)


class OnnxTextClassifier:
    """Classifies batches of texts with a text-classification model directory."""

    def __init__(
        self,
        directory: Path,
        *,
        threads: int = 1,
        device: Device = "auto",
        threshold: float | None = None,
        oos_label: str | None = None,
        top_k: int = 3,
    ) -> None:
        self.model = OnnxModel(directory, threads=threads, device=device)
        manifest = self.model.manifest
        if manifest.task != "text-classification":
            raise ModelError(f"{directory} holds a {manifest.task} model, not a text classifier")
        self.labels = list(manifest.labels)
        self.threshold = threshold if threshold is not None else manifest.threshold
        self.oos_label = oos_label or manifest.oos_label
        self.oos_score: OosScore = manifest.oos_score
        self._oos_index = self.labels.index(self.oos_label) if self.oos_label in self.labels else None
        self.top_k = top_k
        if self.oos_score == "probability" and self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ModelError(
                f"{directory}: threshold {self.threshold} is not a probability (0..1), but this model "
                "rejects out-of-scope messages by their best probability; set a threshold between 0 and 1"
            )

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw scores, one row per text."""
        logits = self.model.run(texts)
        if logits.shape[-1] != len(self.labels):
            raise ModelError(
                f"{self.model.directory}: the model has {logits.shape[-1]} outputs but the manifest "
                f"lists {len(self.labels)} labels; re-export the model"
            )
        return logits.astype(np.float64)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, one row per text."""
        return softmax(self.logits(texts))

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Predictions for a batch of texts (blocking: call it from a worker thread)."""
        logits = self.logits(texts)
        probs = softmax(logits)
        # "probability" is decide()'s own default score: only energy needs computing here
        scores = oos_confidence(logits, self._oos_index, "energy") if self.oos_score == "energy" else None
        return [
            decide(row, self.labels, top_k=self.top_k, threshold=self.threshold,
                   oos_label=self.oos_label, score=None if scores is None else float(scores[i]))
            for i, row in enumerate(probs)
        ]
