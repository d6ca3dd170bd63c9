"""A tiny chat model with a repertoire of replies, exported once per session like `models prepare` does."""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource
    from interplay.trainer.loop.simulate import tiny_chat_model

    torch.set_num_threads(1)  # shared CPUs: one thread is faster than two fighting other jobs
    base = tmp_path_factory.mktemp("base")
    model, tokenizer = tiny_chat_model()
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    root = tmp_path_factory.mktemp("models") / "generator"
    return build_generator(ModelSource("local", str(base), name="tiny"), root, variants=("fp32",),
                           model=model, tokenizer=tokenizer)


@pytest.fixture
def prompt_seeded_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reply is sampled with a seed derived from its prompt ids.

    Unseeded sampling made every run's ratings, dataset and golden set different (the gate then
    failed now and then); the plugin's `seed` setting would give every request the same draws.
    With this, the same conversation gets the same reply whatever the timing, and the old and the
    new model answer each held-out prompt with the same random numbers.
    """
    from interplay.plugins.onnx_generator.sampling import TokenSampler

    original = TokenSampler.__init__

    def init(self: Any, params: Any, prompt_ids: Any) -> None:
        ids = list(prompt_ids)
        if params.seed is None:
            params = dataclasses.replace(params, seed=zlib.crc32(json.dumps(ids).encode()))
        original(self, params, ids)

    monkeypatch.setattr(TokenSampler, "__init__", init)
