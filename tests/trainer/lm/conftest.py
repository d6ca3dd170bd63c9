"""A tiny random Llama chat model and its exported generator root, built once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_lm() -> tuple[Any, Any]:
    from interplay.trainer.lm.tiny import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    return tiny_llama(tokenizer), tokenizer


@pytest.fixture(scope="session")
def built_root(tmp_path_factory: pytest.TempPathFactory, tiny_lm: tuple[Any, Any]) -> Path:
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource

    model, tokenizer = tiny_lm
    root = tmp_path_factory.mktemp("models") / "onnx"
    return build_generator(ModelSource("local", "tiny", name="tiny"), root, model=model, tokenizer=tokenizer)
