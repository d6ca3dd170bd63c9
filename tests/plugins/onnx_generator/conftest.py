"""A tiny random Llama chat model, exported once per session through the real prepare path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from interplay.core import PluginContext
from interplay.plugins.onnx_generator.generator import OnnxGenerator


@pytest.fixture(scope="session")
def tiny_lm() -> tuple[Any, Any]:
    from interplay.trainer.lm.tiny import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    return tiny_llama(tokenizer), tokenizer


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory, tiny_lm: tuple[Any, Any]) -> Path:
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource

    model, tokenizer = tiny_lm
    root = tmp_path_factory.mktemp("models") / "onnx"
    return build_generator(ModelSource("local", "tiny", name="tiny"), root, variants=("fp32", "int8"),
                           model=model, tokenizer=tokenizer)


@pytest.fixture
def start_generator(tiny_root: Path, tmp_path: Path) -> Any:
    """`async with start_generator(**settings) as gen:` a started OnnxGenerator on the tiny model."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[OnnxGenerator]:
        values = {"model_dir": tiny_root, "precision": "fp32", "temperature": 0.0, "max_new_tokens": 24,
                  "threads": 1, **settings}
        generator = OnnxGenerator(OnnxGenerator.Settings(**values), PluginContext(None, tmp_path, None))
        await generator.start()
        try:
            yield generator
        finally:
            await generator.stop()

    return start
