"""Token classification on an ONNX model directory: per-token scores turned into entity spans."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.plugins.nlu.classifier import softmax
from interplay.plugins.nlu.model_dir import Device, OnnxModel

from .spans import Span, decode


@dataclass(frozen=True, slots=True)
class TaggedText:
    """One text's entities (character spans with confidences)."""

    text: str
    spans: tuple[Span, ...]

    def entities(self) -> list[dict[str, Any]]:
        """Plain dicts (label, text, start, end, confidence) for an annotation."""
        return [s.as_dict(self.text) for s in self.spans]


class OnnxTokenTagger:
    """Tags batches of texts with a token-classification model directory (blocking; use a thread)."""

    def __init__(
        self, directory: Path, *, threads: int = 1, device: Device = "auto", min_confidence: float = 0.0
    ) -> None:
        self.model = OnnxModel(directory, threads=threads, device=device)
        manifest = self.model.manifest
        if manifest.task != "token-classification":
            raise ModelError(
                f"{directory} holds a {manifest.task} model, not a token classifier: "
                "train one with `interplay train tagger`"
            )
        self.tags = list(manifest.labels)
        self.min_confidence = min_confidence

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        # OnnxModel.encode hides the encodings; the offsets and word ids are needed here too
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: value for name, value in feeds.items() if name in self.model.input_names}

    def logits(self, texts: list[str]) -> tuple[np.ndarray, list[Any]]:
        """Raw per-token logits (texts × tokens × tags) and the encodings they belong to."""
        encodings = self.model.tokenizer.encode_batch(texts)
        logits = self.model.session.run(None, self._feeds(encodings))[0]
        if logits.shape[-1] != len(self.tags):
            raise ModelError(
                f"{self.model.directory}: the model has {logits.shape[-1]} outputs per token but its manifest"
                f" lists {len(self.tags)} tags; re-export the model"
            )
        return logits, encodings

    def predict(self, texts: list[str]) -> list[TaggedText]:
        """Entities for each text; spans under `min_confidence` are dropped."""
        if not texts:
            return []
        logits, encodings = self.logits(texts)
        probs = softmax(logits.astype(np.float64))
        out = []
        for text, row, enc in zip(texts, probs, encodings, strict=True):
            spans = decode(row, enc.word_ids, enc.offsets, self.tags)
            out.append(TaggedText(text, tuple(s for s in spans if s.confidence >= self.min_confidence)))
        return out
