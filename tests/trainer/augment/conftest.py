"""Tiny models for the augmentation tests: a random Llama proposer and a random BERT encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from interplay.trainer.augment.config import AugmentConfig
from interplay.trainer.classifier.data import Example
from interplay.trainer.classifier.tiny import build_tiny_bert, toy_examples


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("aug-bert"))


@pytest.fixture(scope="session")
def encoder(tiny_bert: Path) -> Any:
    from interplay.trainer.augment.embedding import SentenceEncoder

    return SentenceEncoder(str(tiny_bert))


@pytest.fixture
def tiny_lm() -> tuple[Any, Any]:
    from interplay.trainer.lm.tiny import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    return tiny_llama(tokenizer), tokenizer


@pytest.fixture
def labeled() -> list[Example]:
    return [Example(t, label) for t, label in toy_examples(5, seed=4)]


@pytest.fixture
def small_cfg() -> AugmentConfig:
    return AugmentConfig(
        rounds=2,
        per_label=3,
        temperatures=(0.7, 1.3),
        max_new_tokens=8,
        batch_size=8,
        progress=False,
        generator_steps=2,
        generator_batch_size=4,
        generator_lr=1e-3,
    )
