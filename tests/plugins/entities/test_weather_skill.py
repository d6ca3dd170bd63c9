"""The weather skill's routing and replies, driven by stand-in analyzers (no model needed)."""

from __future__ import annotations

from typing import Any, ClassVar

from interplay.core import Analyzer, Annotation, Message, PluginSettings, hookimpl
from interplay.plugins import weather_skill
from interplay.plugins.weather_skill import WeatherRequest, compose
from interplay.testing import run_bot

SLOTS = {
    "weather in Paris tomorrow": [("city", "Paris", 11), ("timeRange", "tomorrow", 17)],
    "is it sunny in Lyon and Nice": [
        ("condition_description", "sunny", 6),
        ("city", "Lyon", 15),
        ("city", "Nice", 24),
    ],
    "weather tomorrow": [("timeRange", "tomorrow", 8)],
    "play abba": [("artist", "abba", 5)],
}


class StandInEntities(Analyzer):
    """Emits the entities listed in SLOTS, in the `entities` plugin's annotation shape."""

    name = "slots"
    Settings: ClassVar[type[PluginSettings]] = PluginSettings

    async def analyze(self, message: Message) -> Annotation:
        found = [
            {"label": label, "text": text, "start": start, "end": start + len(text), "confidence": 0.9}
            for label, text, start in SLOTS.get(message.text, [])
        ]
        return Annotation(self.name, "x", data={"entities": found})


class StandInIntent(Analyzer):
    """GetWeather for texts that mention weather words, PlayMusic otherwise."""

    name = "intent"
    Settings: ClassVar[type[PluginSettings]] = PluginSettings

    async def analyze(self, message: Message) -> Annotation:
        weather = any(w in message.text for w in ("weather", "sunny"))
        return Annotation(self.name, "GetWeather" if weather else "PlayMusic")


class StandIns:
    @staticmethod
    @hookimpl
    def register_analyzers(register: Any, config: Any) -> None:
        register(StandInEntities)
        register(StandInIntent)


async def _talk(settings: dict[str, Any], analyzers: list[str], *texts: str) -> list[Any]:
    async with run_bot(
        StandIns, weather_skill, analyzers=analyzers, skills=["weather"], settings=settings, installed=False
    ) as bot:
        return [await bot.say(t) for t in texts]


async def test_routed_by_intent_and_answered_from_entities():
    settings = {"weather": {"analyzer": "slots"}}
    paris, lyon, ask, music = await _talk(
        settings,
        ["slots", "intent"],
        "weather in Paris tomorrow",
        "is it sunny in Lyon and Nice",
        "weather tomorrow",
        "play abba",
    )
    assert paris.source == "skill:weather"
    assert paris.text == (
        "I understood: the weather in Paris tomorrow. "
        "I have no forecast service connected, so I cannot look it up."
    )
    assert "the weather in Lyon and Nice (asking about: sunny)" in lyon.text
    assert ask.text == "Which place do you want the weather for tomorrow?"
    assert music.source == "generator:echo"  # PlayMusic: the skill is not asked


async def test_without_the_entities_annotation_the_skill_passes():
    (reply,) = await _talk(
        {"weather": {"analyzer": "entities"}}, ["slots", "intent"], "weather in Paris tomorrow"
    )
    assert reply.source == "generator:echo"


async def test_confidence_floor_drops_unsure_entities():
    settings = {"weather": {"analyzer": "slots", "min_confidence": 0.95}}
    (reply,) = await _talk(settings, ["slots", "intent"], "weather in Paris tomorrow")
    assert reply.text == "Which place do you want the weather for?"


def test_compose_joins_several_places_and_times():
    text = compose(WeatherRequest(places=["Oslo", "Bergen", "Tromsø"], times=["today"]))
    assert text.startswith("I understood: the weather in Oslo, Bergen and Tromsø today.")
