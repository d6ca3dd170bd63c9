"""The embedded default models: data shipped with attribution, first-run logic, a quick pipeline run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from interplay.core import ModelError
from interplay.plugins.nlu.manifest import read_manifest
from interplay.trainer.classifier import defaults
from interplay.trainer.classifier.data import read_examples
from interplay.trainer.classifier.run import train_classifier


def config(models_dir: Path, **tables: dict) -> SimpleNamespace:
    return SimpleNamespace(models_dir=models_dir, plugin_table=lambda name: tables.get(name, {}))


@pytest.mark.parametrize(
    ("name", "sizes", "n_labels"),
    [
        ("clinc150", {"train": 15100, "validation": 3100, "test": 5500}, 151),
        ("sst2", {"train": 67349, "validation": 872, "test": 1821}, 2),
    ],
)
def test_embedded_data_is_complete_and_attributed(name: str, sizes: dict[str, int], n_labels: int) -> None:
    for split, size in sizes.items():
        rows = read_examples(defaults.data_file(name, split))
        assert len(rows) == size
    assert len({e.label for e in rows}) == n_labels
    attribution = (defaults.DATA_DIR / name / "ATTRIBUTION.md").read_text()
    assert "Please cite" in attribution
    if name == "clinc150":
        assert "Attribution 3.0" in (defaults.DATA_DIR / name / "LICENSE").read_text()


def test_existing_model_is_not_retrained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir_with_intent
):
    calls = []
    monkeypatch.setattr(defaults, "build_default_head", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(defaults, "train_default", lambda *a, **k: calls.append(a))
    assert (
        defaults.prepare_default_classifier(config(models_dir_with_intent), "intent")
        == models_dir_with_intent / "intent"
    )
    assert calls == []
    defaults.prepare_default_classifier(config(models_dir_with_intent), "intent", force=True)
    assert calls[0][0] == "intent" and calls[0][1] == models_dir_with_intent / "intent"


def test_missing_intent_model_gets_an_embedding_head_unless_finetune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(defaults, "build_default_head", lambda kind, *a, **k: calls.append((kind, "head")))
    monkeypatch.setattr(defaults, "train_default", lambda kind, *a, full: calls.append((kind, f"{full=}")))
    defaults.prepare_default_classifier(config(tmp_path), "intent")
    defaults.prepare_default_classifier(config(tmp_path), "intent", full=True)
    defaults.prepare_default_classifier(config(tmp_path), "sentiment")  # fine-tuned on part of the data
    monkeypatch.setenv(defaults.FULL_ENV, "1")
    defaults.prepare_default_classifier(config(tmp_path), "intent")
    assert calls == [
        ("intent", "head"), ("intent", "full=True"), ("sentiment", "full=False"), ("intent", "full=True")
    ]


def test_default_head_spec_uses_all_the_data(tmp_path: Path) -> None:
    spec, cfg = defaults.default_head_spec("intent", tmp_path / "m", tmp_path / "r", tmp_path / "enc")
    assert spec.subsample_per_class is None and spec.oos_label == "oos" and spec.test is not None
    assert spec.min_in_scope is not None and cfg.encoder_cache == tmp_path / "enc"
    spec, _ = defaults.default_head_spec("sentiment", tmp_path / "m", tmp_path / "r")
    assert spec.oos_label is None and spec.subsample_per_class is None
    assert defaults.DEFAULTS["intent"].method == "embedding-head"


def test_configured_model_dir_wins_and_must_be_valid(tmp_path: Path, models_dir_with_intent: Path) -> None:
    good = config(tmp_path, intent={"model_dir": str(models_dir_with_intent / "intent")})
    assert defaults.prepare_default_classifier(good, "intent") == models_dir_with_intent / "intent"
    bad = config(tmp_path, intent={"model_dir": str(tmp_path / "nope")})
    with pytest.raises(ModelError, match="holds no valid model"):
        defaults.prepare_default_classifier(bad, "intent")
    with pytest.raises(ModelError, match="no default classifier"):
        defaults.prepare_default_classifier(good, "entities")


def test_quick_spec_subsamples(tmp_path: Path) -> None:
    spec, cfg = defaults.default_spec_and_config("intent", tmp_path / "m", tmp_path / "r", full=False)
    assert spec.subsample_per_class == 20 and spec.oos_label == "oos" and cfg.epochs == 4
    assert spec.min_in_scope is None
    spec, cfg = defaults.default_spec_and_config("intent", tmp_path / "m", tmp_path / "r", full=True)
    assert spec.subsample_per_class is None and cfg.epochs == 3
    assert spec.min_in_scope == defaults.DEFAULTS["intent"].min_in_scope == 0.94  # as the served default


@pytest.fixture(scope="module")
def models_dir_with_intent(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path) -> Path:
    """The default intent pipeline on the embedded CLINC150 data, with the tiny encoder and 2 steps."""
    root = tmp_path_factory.mktemp("defaults")
    spec, cfg = defaults.default_spec_and_config("intent", root / "intent", root / "run", full=False)
    spec = replace(spec, base=str(tiny_base), subsample_per_class=2, parity_examples=200)
    metrics = train_classifier(spec, replace(cfg, epochs=1, max_steps=2, freeze_layers=0, progress=False))
    assert len(metrics["labels"]) == 151 and metrics["data"]["test"] == 5500
    assert read_manifest(root / "intent").oos_label == "oos"
    return root
