"""A tiny random BERT and toy intent files, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.run import RunSpec
from interplay.trainer.classifier.tiny import build_tiny_bert, toy_examples, write_csv


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("toy-data")
    return {
        "train": write_csv(d / "train.csv", toy_examples(40, seed=1)),
        "validation": write_csv(d / "validation.csv", toy_examples(10, seed=2)),
        "test": write_csv(d / "test.csv", toy_examples(10, seed=3)),
    }


@pytest.fixture
def spec(tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path) -> RunSpec:
    return RunSpec(
        train=toy_files["train"],
        validation=toy_files["validation"],
        test=toy_files["test"],
        base=str(tiny_base),
        out=tmp_path / "run",
        export=False,
    )


@pytest.fixture
def fast_config() -> TrainConfig:
    """Enough steps for the tiny model to learn the toy intents, in a few seconds."""
    return TrainConfig(epochs=8, lr=3e-3, batch_size=16, patience=0, device="cpu", progress=False)
