"""A tiny random BERT with a toy vocabulary, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from interplay.trainer.tagger.tiny import build_tiny_tagger_base

    return build_tiny_tagger_base(tmp_path_factory.mktemp("tiny-bert"))
