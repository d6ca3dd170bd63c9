"""Sampling matches transformers' logits processors and is reproducible with a seed."""

from __future__ import annotations

import numpy as np
import pytest
from interplay.plugins.onnx_generator.sampling import (
    SamplingParams,
    TokenSampler,
    apply_repetition_penalty,
    top_k_top_p_probs,
)


@pytest.fixture
def logits() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 3, size=500).astype(np.float32)


def test_repetition_penalty_matches_transformers(logits: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    from transformers import RepetitionPenaltyLogitsProcessor

    seen = [3, 17, 17, 250, 499]
    expected = RepetitionPenaltyLogitsProcessor(1.3)(torch.tensor([seen]), torch.tensor(logits[None]))
    np.testing.assert_allclose(apply_repetition_penalty(logits, seen, 1.3), expected[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize(("top_k", "top_p"), [(0, 0.9), (20, 1.0), (50, 0.5)])
def test_filtering_keeps_the_same_tokens_as_transformers(
    logits: np.ndarray, top_k: int, top_p: float
) -> None:
    torch = pytest.importorskip("torch")
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    scores = torch.tensor(logits[None]) / 0.8
    if top_k:
        scores = TopKLogitsWarper(top_k)(None, scores)
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(None, scores)
    kept_by_transformers = set(np.flatnonzero(np.isfinite(scores[0].numpy())))
    probs = top_k_top_p_probs(logits, 0.8, top_k, top_p)
    assert set(np.flatnonzero(probs > 0)) == kept_by_transformers
    assert probs.sum() == pytest.approx(1.0)


def test_greedy_takes_the_argmax(logits: np.ndarray) -> None:
    sampler = TokenSampler(SamplingParams(temperature=0.0, repetition_penalty=1.0), [])
    assert sampler.choose(logits) == int(np.argmax(logits))


def test_top_k_one_is_greedy(logits: np.ndarray) -> None:
    sampler = TokenSampler(SamplingParams(temperature=1.5, top_k=1, repetition_penalty=1.0, seed=1), [])
    assert {sampler.choose(logits) for _ in range(20)} == {int(np.argmax(logits))}


def test_seed_reproduces_and_sampling_follows_the_distribution(logits: np.ndarray) -> None:
    params = SamplingParams(temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0, seed=3)
    a = [TokenSampler(params, []).choose(logits) for _ in range(5)]
    assert len(set(a)) == 1, "a fresh sampler with the same seed picks the same token"
    sampler = TokenSampler(params, [])
    draws = np.bincount([sampler.choose(logits) for _ in range(4000)], minlength=logits.size) / 4000
    probs = top_k_top_p_probs(logits, 1.0, 0, 1.0)
    top = int(np.argmax(probs))
    assert draws[top] == pytest.approx(probs[top], abs=0.03)
