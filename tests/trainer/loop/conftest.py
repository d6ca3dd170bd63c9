"""A tiny chat model with a repertoire of replies, exported once per session like `models prepare` does."""

from __future__ import annotations

from pathlib import Path

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
