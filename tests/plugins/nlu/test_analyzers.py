"""The `intent` and `sentiment` analyzers on exported toy models."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from interplay.core import Message, PluginContext, PluginError
from interplay.plugins.nlu.classifier import OnnxTextClassifier
from interplay.plugins.nlu.intent import IntentAnalyzer, IntentSettings
from interplay.plugins.nlu.sentiment import SentimentAnalyzer, SentimentSettings


def msg(text: str) -> Message:
    return Message(channel="test", conversation_id="c1", user_id="u1", text=text)


async def started(cls, settings, context: PluginContext):
    analyzer = cls(settings, context)
    await analyzer.start()
    return analyzer


async def test_intent_annotates_with_label_confidence_and_top3(context: PluginContext) -> None:
    analyzer = await started(IntentAnalyzer, IntentSettings(threshold=0.0), context)
    try:
        ann = await analyzer.analyze(msg("hello there greetings"))
        assert ann is not None and ann.analyzer == "intent"
        assert ann.label == "greet"
        assert len(ann.top) == 3 and ann.top[0] == ("greet", pytest.approx(ann.confidence))
        assert [s for _, s in ann.top] == sorted((s for _, s in ann.top), reverse=True)
        assert 0.25 < ann.confidence <= 1.0
        assert (await analyzer.analyze(msg("rain forecast umbrella"))).label == "weather"
        assert await analyzer.analyze(msg("   ")) is None
    finally:
        await analyzer.stop()


async def test_intent_falls_back_to_oos_under_the_threshold(context: PluginContext) -> None:
    analyzer = await started(IntentAnalyzer, IntentSettings(threshold=0.999), context)
    try:
        ann = await analyzer.analyze(msg("hello rain bye"))  # mixed words: no confident intent
        assert ann.label == "oos"
        assert ann.data["below_threshold"] is True and ann.data["threshold"] == 0.999
        assert ann.top[0][0] != "oos" or ann.top[0][1] < 0.999
    finally:
        await analyzer.stop()


async def test_intent_uses_the_manifest_threshold_by_default(
    context: PluginContext, models_root: Path
) -> None:
    manifest = json.loads((models_root / "intent" / "manifest.json").read_text())
    analyzer = await started(IntentAnalyzer, IntentSettings(), context)
    try:
        assert analyzer.classifier.threshold == manifest["threshold"]
        assert manifest["oos_label"] == "oos"
    finally:
        await analyzer.stop()


async def test_annotations_match_a_direct_batch_and_arrive_micro_batched(context: PluginContext) -> None:
    texts = ["hello hi", "rain sunny", "bye later", "banana guitar", "morning hey", "cloudy forecast"] * 3
    analyzer = await started(IntentAnalyzer, IntentSettings(threshold=0.0, batch_wait_ms=5), context)
    try:
        anns = await asyncio.gather(*(analyzer.analyze(msg(t)) for t in texts))
        direct = analyzer.classifier.predict(texts)
        assert [a.label for a in anns] == [p.label for p in direct]
        assert np.allclose([a.confidence for a in anns], [p.confidence for p in direct], atol=1e-6)
        assert max(analyzer._batcher.batch_sizes) > 1  # messages that arrived together shared a call
        assert sum(analyzer._batcher.batch_sizes) == len(texts)
    finally:
        await analyzer.stop()


async def test_sentiment_on_an_int8_model(context: PluginContext, models_root: Path) -> None:
    analyzer = await started(SentimentAnalyzer, SentimentSettings(), context)
    try:
        assert analyzer.classifier.model.manifest.precision == "int8"
        ann = await analyzer.analyze(msg("hello hi greetings"))
        assert ann.analyzer == "sentiment" and ann.label in {"positive", "negative"}
        assert {label for label, _ in ann.top} == {"positive", "negative"}
        assert sum(s for _, s in ann.top) == pytest.approx(1.0, abs=1e-5)
    finally:
        await analyzer.stop()


async def test_missing_model_says_how_to_get_one(tmp_path: Path, context: PluginContext) -> None:
    analyzer = IntentAnalyzer(IntentSettings(model_dir=tmp_path / "nothing"), context)
    with pytest.raises(PluginError, match=r"interplay models prepare --only intent"):
        await analyzer.start()
    await analyzer.stop()


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="treshold"):
        IntentSettings.model_validate({"treshold": 0.5})
    assert IntentSettings().top_k == 3 and SentimentSettings().top_k == 2


def test_runtime_needs_neither_torch_nor_transformers(models_root: Path) -> None:
    code = (
        "import sys\n"
        "from interplay.plugins.nlu.classifier import OnnxTextClassifier\n"
        f"c = OnnxTextClassifier({str(models_root / 'intent')!r}, device='cpu')\n"
        "print(c.predict(['hello hi'])[0].label)\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "greet"


def test_classifier_top_k_and_probabilities(models_root: Path) -> None:
    clf = OnnxTextClassifier(models_root / "intent", top_k=2, threshold=0.0)
    probs = clf.probabilities(["hello", "bye bye"])
    assert probs.shape == (2, 4) and np.allclose(probs.sum(1), 1.0)
    assert len(clf.predict(["hello"])[0].top) == 2


def test_a_probability_threshold_outside_0_to_1_is_refused(models_root: Path) -> None:
    from interplay.core import ModelError

    with pytest.raises(ModelError, match="not a probability"):
        OnnxTextClassifier(models_root / "intent", threshold=1.5, device="cpu")
