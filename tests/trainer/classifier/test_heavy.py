"""With the real all-MiniLM-L6-v2 weights: a short default-model run, exported and checked (-m heavy)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from interplay.plugins.nlu.classifier import OnnxTextClassifier
from interplay.trainer.classifier import defaults
from interplay.trainer.classifier.run import train_classifier


@pytest.mark.heavy
def test_minilm_default_intent_pipeline(tmp_path: Path) -> None:
    spec, cfg = defaults.default_spec_and_config("intent", tmp_path / "intent", tmp_path / "run", full=False)
    spec = replace(spec, subsample_per_class=5, parity_examples=300)
    metrics = train_classifier(spec, replace(cfg, epochs=1, progress=False))
    parity = metrics["export"]["parity"]
    assert parity["fp32"]["max_abs_logit_diff"] < 1e-3 and parity["label_agreement"] > 0.9
    clf = OnnxTextClassifier(tmp_path / "intent", device="cpu")
    assert len(clf.labels) == 151 and clf.threshold is not None
