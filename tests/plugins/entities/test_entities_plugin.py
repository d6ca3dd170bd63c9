"""The `entities` analyzer served from an exported tiny tagger, and the weather skill end to end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from interplay.core import PluginError
from interplay.plugins.entities import EntitiesAnalyzer, EntitiesSettings
from interplay.plugins.entities.analyzer import to_annotation
from interplay.testing import run_bot


async def test_messages_are_annotated_with_entities(tagger_dir: Path):
    settings = {"entities": {"model_dir": str(tagger_dir), "device": "cpu"}}
    async with run_bot(analyzers=["entities"], settings=settings) as bot:
        reply = await bot.say("weather in london tomorrow")
        empty = await bot.say("please")
    annotation = reply.annotations["entities"]
    entities = annotation.data["entities"]
    assert [(e["label"], e["text"], e["start"], e["end"]) for e in entities] == [
        ("city", "london", 11, 17),
        ("time", "tomorrow", 18, 26),
    ]
    assert annotation.label == "city+time"
    assert annotation.confidence == min(e["confidence"] for e in entities) > 0.5
    assert annotation.data["model"].startswith("entities-int8-")
    assert (
        empty.annotations["entities"].label == "none" and empty.annotations["entities"].data["entities"] == []
    )


async def test_label_filter_and_confidence_floor(tagger_dir: Path):
    settings = {"entities": {"model_dir": str(tagger_dir), "device": "cpu", "labels": ["time"]}}
    async with run_bot(analyzers=["entities"], settings=settings) as bot:
        reply = await bot.say("weather in london tomorrow")
    assert [e["text"] for e in reply.annotations["entities"].data["entities"]] == ["tomorrow"]
    strict = {"entities": {"model_dir": str(tagger_dir), "device": "cpu", "min_confidence": 1.0}}
    async with run_bot(analyzers=["entities"], settings=strict) as bot:
        reply = await bot.say("weather in london tomorrow")
    assert reply.annotations["entities"].data["entities"] == []


async def test_weather_skill_answers_from_the_tagged_entities(tagger_dir: Path):
    settings = {
        "entities": {"model_dir": str(tagger_dir), "device": "cpu"},
        # no intent model here: the skill is asked for every message; the toy data calls times "time"
        "weather": {"intents": [], "time_labels": ["time"]},
    }
    async with run_bot(analyzers=["entities"], skills=["weather"], settings=settings) as bot:
        weather = await bot.say("will it rain in tokyo next week ?")
        music = await bot.say("play abba")
    assert weather.source == "skill:weather"
    assert weather.text.startswith("I understood: the weather in tokyo next week.")
    assert music.source == "generator:echo" and music.text == "play abba"


async def test_a_sequence_classifier_directory_is_refused_with_what_to_do(tagger_dir: Path, tmp_path: Path):
    import shutil

    from interplay.plugins.nlu.manifest import read_manifest

    wrong = tmp_path / "wrong"
    shutil.copytree(tagger_dir, wrong)
    read_manifest(wrong).model_copy(update={"task": "text-classification"}).save(wrong)
    analyzer = EntitiesAnalyzer(EntitiesSettings(model_dir=wrong), SimpleNamespace(config=None))
    with pytest.raises(PluginError, match="interplay train tagger"):
        await analyzer.start()
    missing = EntitiesAnalyzer(
        EntitiesSettings(), SimpleNamespace(config=SimpleNamespace(models_dir=tmp_path))
    )
    assert missing.model_dir() == tmp_path / "entities"
    with pytest.raises(PluginError, match="not a model directory"):
        await missing.start()


def test_annotation_shape():
    entities = [
        {"label": "city", "text": "Paris", "start": 3, "end": 8, "confidence": 0.9},
        {"label": "time", "text": "now", "start": 9, "end": 12, "confidence": 0.6},
        {"label": "city", "text": "Rome", "start": 17, "end": 21, "confidence": 0.8},
    ]
    annotation = to_annotation("entities", entities, "m1")
    assert annotation.label == "city+time" and annotation.confidence == 0.6
    assert annotation.top == (("city", 0.9), ("time", 0.6), ("city", 0.8))
    assert to_annotation("entities", [], "m1").label == "none"
