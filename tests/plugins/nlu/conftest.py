"""Exported toy models (tiny BERT, fp32 and int8) for the NLU plugin tests, built once per session."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from interplay.core import PluginContext
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.run import RunSpec, train_classifier
from interplay.trainer.classifier.tiny import build_tiny_bert, toy_examples, write_csv

CONFIG = TrainConfig(epochs=8, lr=3e-3, batch_size=16, patience=0, device="cpu", progress=False)


def _train(root: Path, base: Path, kind: str, rows: dict[str, list[tuple[str, str]]], quantize: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = {name: write_csv(root / f"{name}.csv", data) for name, data in rows.items()}
    spec = RunSpec(
        train=files["train"],
        validation=files["validation"],
        test=files["test"],
        base=str(base),
        out=root / "run",
        kind=kind,
        quantize=quantize,
        model_dir=root / kind,
    )
    train_classifier(spec, CONFIG)
    return root / kind


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/intent (fp32, with oos and a threshold) and <root>/sentiment (int8, two labels)."""
    root = tmp_path_factory.mktemp("nlu-models")
    build_tiny_bert(root / "base")
    toy = {
        name: toy_examples(n, seed)
        for name, n, seed in (("train", 40, 1), ("validation", 10, 2), ("test", 10, 3))
    }
    _train(root / "i", root / "base", "intent", toy, quantize=False)
    mood = {"greet": "positive", "goodbye": "negative"}
    polar = {k: [(t, mood[y]) for t, y in v if y in mood] for k, v in toy.items()}
    _train(root / "s", root / "base", "sentiment", polar, quantize=True)
    (root / "intent").symlink_to(root / "i" / "intent")
    (root / "sentiment").symlink_to(root / "s" / "sentiment")
    return root


@pytest.fixture
def context(models_root: Path, tmp_path: Path) -> PluginContext:
    return PluginContext(store=None, data_dir=tmp_path, config=SimpleNamespace(models_dir=models_root))  # type: ignore[arg-type]
