"""Choosing the next token from logits: repetition penalty, temperature, top-k, top-p, seed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SamplingParams:
    """How one request picks tokens; temperature 0 means greedy."""

    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


def apply_repetition_penalty(logits: np.ndarray, seen: Iterable[int], penalty: float) -> np.ndarray:
    """CTRL-style penalty, as transformers does it: shrink the scores of tokens already present."""
    if penalty == 1.0:
        return logits
    ids = np.fromiter(set(seen), dtype=np.int64)
    if ids.size == 0:
        return logits
    out = logits.copy()
    scores = out[ids]
    out[ids] = np.where(scores > 0, scores / penalty, scores * penalty)
    return out


def top_k_top_p_probs(logits: np.ndarray, temperature: float, top_k: int, top_p: float) -> np.ndarray:
    """A probability vector after temperature, top-k and nucleus filtering."""
    scaled = logits.astype(np.float64) / temperature
    if 0 < top_k < scaled.size:
        kth = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if 0.0 < top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        # keep the smallest prefix whose mass reaches top_p (always at least one token)
        cutoff = int(np.searchsorted(cumulative, top_p)) + 1
        keep = np.zeros_like(probs, dtype=bool)
        keep[order[:cutoff]] = True
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum()
    return probs


class TokenSampler:
    """Per-request state: its own random generator so a seed reproduces a reply."""

    def __init__(self, params: SamplingParams, prompt_ids: Iterable[int]) -> None:
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        self.seen: set[int] = set(prompt_ids)

    def choose(self, logits: np.ndarray) -> int:
        """The next token id for one row of logits."""
        p = self.params
        logits = apply_repetition_penalty(logits, self.seen, p.repetition_penalty)
        if p.greedy:
            token = int(np.argmax(logits))
        else:
            probs = top_k_top_p_probs(logits, p.temperature, p.top_k, p.top_p)
            token = int(self.rng.choice(probs.size, p=probs))
        self.seen.add(token)
        return token
