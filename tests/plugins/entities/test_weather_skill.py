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
    """GetWeather for texts that mention weather words, PlayMusic otherwise (unsure unless it says play)."""

    name = "intent"
    provides = "intent"
    Settings: ClassVar[type[PluginSettings]] = PluginSettings

    async def analyze(self, message: Message) -> Annotation:
        if any(w in message.text for w in ("weather", "sunny")):
            return Annotation(self.name, "GetWeather")
        return Annotation(self.name, "PlayMusic", 0.95 if message.text.startswith("play") else 0.4)


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


# -- the weather dialogue (a SlotSkill): ask for the place, take the answer, re-ask, cancel -----------

DIALOGUE = {"weather": {"analyzer": "slots"}}


async def test_weather_please_which_place_lisbon_answer():
    ask, answer, after = await _talk(DIALOGUE, ["slots", "intent"], "weather please", "Lisbon", "Lisbon")
    assert ask.text == "Which place do you want the weather for?"
    assert answer.source == "skill:weather"
    assert answer.text.startswith("I understood: the weather in Lisbon.")
    assert after.source == "generator:echo"  # answered: the dialogue is over


async def test_the_question_remembers_the_time_and_a_bad_answer_is_reasked():
    ask, bad, good = await _talk(DIALOGUE, ["slots", "intent"], "weather tomorrow", "42", "in Porto")
    assert ask.text == "Which place do you want the weather for tomorrow?"
    assert (
        bad.text == "'42' does not look like a place name. Which place do you want the weather for tomorrow?"
    )
    assert good.text.startswith("I understood: the weather in Porto tomorrow.")


async def test_an_entity_in_the_answer_fills_the_slot():
    SLOTS["well, paris then"] = [("city", "paris", 6)]
    try:
        _, reply = await _talk(DIALOGUE, ["slots", "intent"], "weather please", "well, paris then")
    finally:
        del SLOTS["well, paris then"]
    assert reply.text.startswith("I understood: the weather in paris.")


async def test_cancel_and_giving_up_end_the_dialogue():
    _, cancelled, after = await _talk(DIALOGUE, ["slots", "intent"], "weather please", "never mind", "Lisbon")
    assert cancelled.text == "OK, let's leave that."
    assert after.source == "generator:echo"
    replies = await _talk(DIALOGUE, ["slots", "intent"], "weather please", "1", "2", "3", "Lisbon")
    assert replies[3].text.startswith("I still could not use that")
    assert replies[4].source == "generator:echo"


class SureMusic(Analyzer):
    """A confident PlayMusic for 'play ...', GetWeather for weather words, nothing otherwise."""

    name = "intent"
    provides = "intent"
    Settings: ClassVar[type[PluginSettings]] = PluginSettings

    async def analyze(self, message: Message) -> Annotation | None:
        if message.text.startswith("play"):
            return Annotation(self.name, "PlayMusic", 0.95)
        return Annotation(self.name, "GetWeather", 0.9) if "weather" in message.text else None


class Sure:
    @staticmethod
    @hookimpl
    def register_analyzers(register: Any, config: Any) -> None:
        register(StandInEntities)
        register(SureMusic)


async def test_a_confident_other_intent_changes_topic():
    async with run_bot(
        Sure,
        weather_skill,
        analyzers=["slots", "intent"],
        skills=["weather"],
        settings=DIALOGUE,
        installed=False,
    ) as bot:
        assert (await bot.say("weather please")).text.startswith("Which place")
        moved = await bot.say("play abba")
        assert moved.source == "generator:echo" and moved.text == "play abba"
        assert (await bot.say("Lisbon")).source == "generator:echo"  # the question was dropped


async def test_the_command_takes_the_place_as_its_argument():
    direct, ask, answer = await _talk(DIALOGUE, ["slots", "intent"], "/weather Oslo", "/weather", "Bergen")
    assert direct.text.startswith("I understood: the weather in Oslo.")
    assert ask.text == "Which place do you want the weather for?"
    assert answer.text.startswith("I understood: the weather in Bergen.")


async def test_two_people_in_one_group_chat_each_have_their_own_question():
    async with run_bot(
        StandIns,
        weather_skill,
        analyzers=["slots", "intent"],
        skills=["weather"],
        settings=DIALOGUE,
        installed=False,
    ) as bot:
        assert (await bot.say("weather please", conversation="group", user="ana")).text.startswith("Which")
        other = await bot.say("Madrid", conversation="group", user="ben")
        assert other.source == "generator:echo"  # ben was asked nothing
        assert (await bot.say("weather tomorrow", conversation="group", user="ben")).text.endswith(
            "tomorrow?"
        )
        ana = await bot.say("Lisbon", conversation="group", user="ana")
        ben = await bot.say("Porto", conversation="group", user="ben")
    assert ana.text.startswith("I understood: the weather in Lisbon.")
    assert ben.text.startswith("I understood: the weather in Porto tomorrow.")


async def test_a_restart_between_question_and_answer_loses_nothing(tmp_path):
    from interplay.core.store import SQLiteStore

    async def turn(text: str) -> Any:
        async with run_bot(
            StandIns,
            weather_skill,
            analyzers=["slots", "intent"],
            skills=["weather"],
            settings=DIALOGUE,
            installed=False,
            store=SQLiteStore(tmp_path / "store.sqlite3"),
        ) as bot:
            return await bot.say(text)

    assert (await turn("weather please")).text.startswith("Which place")
    assert (await turn("Lisbon")).text.startswith("I understood: the weather in Lisbon.")


async def test_reset_drops_the_question():
    _, _, after = await _talk(DIALOGUE, ["slots", "intent"], "weather please", "/reset", "Lisbon")
    assert after.source == "generator:echo"
