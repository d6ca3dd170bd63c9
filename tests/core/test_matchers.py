"""Matchers: command, regex and intent, combined with | and &, and the match handed to the skill."""

from __future__ import annotations

from typing import Any

import pytest
from interplay.core import Annotation, Command, Conversation, Intent, Message, Regex, Skill, hookimpl
from interplay.testing import fake_analyzer, run_bot


def msg(text: str, **annotations: tuple[str, float]) -> Message:
    m = Message("t", "c", "u", text)
    return m.annotated({k: Annotation(k, label, conf) for k, (label, conf) in annotations.items()})


def test_command_takes_its_names_case_insensitively_with_args_and_bot_suffix():
    matcher = Command("weather", "w")
    found = matcher.match(msg("/Weather@MyBot  Lisbon tomorrow"))
    assert found is not None and (found.kind, found.command, found.args) == (
        "command",
        "weather",
        "Lisbon tomorrow",
    )
    assert matcher.match(msg("/w")).args == ""
    assert matcher.match(msg("/weatherman")) is None
    assert matcher.match(msg("weather please")) is None
    assert Command("go", prefixes=("!",)).match(msg("!go now")).args == "now"


def test_regex_hands_over_groups_and_named_groups():
    found = Regex(r"weather in (?P<place>[A-Z]\w+)(?: (\w+))?", flags=0).match(
        msg("the weather in Lisbon today")
    )
    assert found is not None
    assert found.named["place"] == "Lisbon" and found.groups == ("Lisbon", "today")
    assert found.args == "weather in Lisbon today"
    assert Regex("WEATHER").match(msg("weather?")) is not None  # case-insensitive by default
    assert Regex("WEATHER", flags=0).match(msg("weather?")) is None


def test_intent_reads_any_analyzer_with_a_confidence_floor():
    sure = msg("hi", mood=("happy", 0.9))
    unsure = msg("hi", mood=("happy", 0.4))
    matcher = Intent("happy", "glad", analyzer="mood", min_confidence=0.5)
    found = matcher.match(sure)
    assert found is not None and (found.label, found.confidence) == ("happy", 0.9)
    assert matcher.match(unsure) is None
    assert Intent("happy").match(sure) is None  # outside a pipeline the default analyzer is `intent`
    assert Intent("happy").match(msg("hi", intent=("happy", 0.9))) is not None
    assert Intent("sad", analyzer="mood").match(sure) is None
    with pytest.raises(ValueError, match="min_confidence"):
        Intent("x", min_confidence=2)


def test_or_takes_the_first_that_matches_and_and_merges_what_each_found():
    either = Command("weather") | Intent("GetWeather")
    assert either.match(msg("/weather Oslo")).kind == "command"
    assert either.match(msg("rain?", intent=("GetWeather", 0.7))).kind == "intent"
    assert either.match(msg("rain?", intent=("PlayMusic", 0.9))) is None
    both = Intent("GetWeather", min_confidence=0.5) & Regex(r"in (?P<place>\w+)")
    found = both.match(msg("weather in Oslo", intent=("GetWeather", 0.8)))
    assert found is not None and found.kind == "all"
    assert (found.label, found.named["place"], len(found.parts)) == ("GetWeather", "Oslo", 2)
    assert both.match(msg("weather in Oslo", intent=("GetWeather", 0.3))) is None
    assert both.match(msg("weather", intent=("GetWeather", 0.9))) is None
    three = (Command("a") | Command("b")) & Regex("x") & Regex("y")
    assert three.match(msg("/b xy")) is not None and three.match(msg("/b x")) is None
    assert "Command('a') | Command('b')" in repr(three)


class Echoes(Skill):
    """Says what matched, so the test sees the Match the pipeline handed over."""

    name = "echoes"
    matcher = Command("say") | Regex(r"^repeat (?P<what>.+)$") | Intent("greet", min_confidence=0.6)

    async def answer(self, conversation: Conversation) -> str | None:
        m = conversation.match
        assert m is not None
        return f"{m.kind}:{m.command or m.named.get('what') or m.label}:{m.args}"


class Broken(Skill):
    name = "broken"

    def match(self, message: Message, routing_analyzer: str = "intent") -> Any:
        raise RuntimeError("matcher bug")

    async def answer(self, conversation: Conversation) -> str | None:
        return "never"


class Skills:
    @staticmethod
    @hookimpl
    def register_skills(register: Any, config: Any) -> None:
        register(Echoes)
        register(Broken)


async def test_the_pipeline_asks_only_matching_skills_and_hands_them_the_match():
    intent = fake_analyzer("intent", lambda m: "greet" if m.text.startswith("hello") else None, 0.7)
    async with run_bot(
        Skills, intent, analyzers=["intent"], skills=["broken", "echoes"], installed=False
    ) as bot:
        assert (await bot.say("/say hi there")).text == "command:say:hi there"
        assert (await bot.say("repeat after me")).text.startswith("regex:after me:")
        assert (await bot.say("hello you")).text == "intent:greet:hello you"
        other = await bot.say("something else")
        assert other.source == "generator:echo"
        assert bot.bot.errors["broken"] == 4  # its matcher failed each time; the others still ran
