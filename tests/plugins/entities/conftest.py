"""A tiny tagger trained on toy slot data and exported to an int8 model directory, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tagger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from interplay.trainer.tagger.tiny import train_tiny_tagger

    metrics = train_tiny_tagger(tmp_path_factory.mktemp("entities"))
    return Path(metrics["export"]["model_dir"])
