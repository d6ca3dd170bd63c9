"""Sentence embeddings from an encoder: mean pooling, unit length (how all-MiniLM-L6-v2 is used)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classifier.encoder import resolve_base


class SentenceEncoder:
    """A frozen encoder that maps texts to normalized mean-pooled vectors, with a small cache."""

    def __init__(self, base: str | None = None, *, max_length: int = 64, batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = resolve_base(base)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.max_length = max_length
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One row per text; texts seen before come from the cache (real data is embedded every round)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            for text, vec in zip(chunk, self._embed(chunk), strict=True):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        enc: Any = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy().astype(np.float32)
