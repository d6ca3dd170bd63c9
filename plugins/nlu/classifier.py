"""Sequence classification on an ONNX model directory: probabilities, top-k and the oos threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def decide(
    probs: np.ndarray, labels: list[str], *, top_k: int, threshold: float | None, oos_label: str | None
) -> Prediction:
    """Turn one probability row into a Prediction; under `threshold` the answer is `oos_label`."""
    order = np.argsort(-probs)[: max(1, top_k)]
    top = tuple((labels[i], float(probs[i])) for i in order)
    label, confidence = top[0]
    if threshold is not None and oos_label and label != oos_label and confidence < threshold:
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
        self.top_k = top_k

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, one row per text."""
        logits = self.model.run(texts)
        if logits.shape[-1] != len(self.labels):
            raise ModelError(
                f"{self.model.directory}: the model has {logits.shape[-1]} outputs but the manifest "
                f"lists {len(self.labels)} labels; re-export the model"
            )
        return softmax(logits.astype(np.float64))

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Predictions for a batch of texts (blocking: call it from a worker thread)."""
        probs = self.probabilities(texts)
        return [
            decide(row, self.labels, top_k=self.top_k, threshold=self.threshold, oos_label=self.oos_label)
            for row in probs
        ]
