"""Skills are routed by the analyzer named in [pipeline] routing_analyzer, not by a hard-coded name."""

from __future__ import annotations

from types import SimpleNamespace

from interplay.core import Annotation, Intent, Message, Skill, hookimpl
from interplay.core.matchers import routing_analyzer
from interplay.testing import fake_analyzer, run_bot


class ForecastSkill(Skill):
    name = "forecast"
    intents = frozenset({"weather"})

    async def answer(self, conversation):
        return "sunny"


skill_plugin = SimpleNamespace(
    __name__="forecast", register_skills=hookimpl(lambda register: register(ForecastSkill))
)


async def _reply(routing: dict) -> str:
    config = {"pipeline": routing} if routing else None
    async with run_bot(skill_plugin, fake_analyzer("topic", "weather"), analyzers=["topic"],
                       skills=["forecast"], installed=False, config=config) as bot:
        return (await bot.say("will it rain?")).source


async def test_the_configured_analyzer_routes_skills():
    assert await _reply({"routing_analyzer": "topic"}) == "skill:forecast"


async def test_by_default_an_analyzer_that_provides_nothing_does_not_route():
    assert await _reply({}) == "generator:echo"


async def _routed_by(analyzer: object, name: str) -> str:
    async with run_bot(skill_plugin, analyzer, analyzers=[name], skills=["forecast"], installed=False) as bot:
        return (await bot.say("will it rain?")).source


async def test_the_analyzer_that_provides_intent_routes_whatever_its_name():
    assert await _routed_by(fake_analyzer("topic", "weather", provides="intent"), "topic") == "skill:forecast"


async def test_an_analyzer_named_intent_that_provides_nothing_does_not_route():
    assert await _routed_by(fake_analyzer("intent", "weather", provides=""), "intent") == "generator:echo"


class MatcherSkill(Skill):
    name = "forecast"
    matcher = Intent("weather")  # analyzer=None: whichever analyzer routes skills

    async def answer(self, conversation):
        return "sunny"


matcher_plugin = SimpleNamespace(
    __name__="forecast", register_skills=hookimpl(lambda register: register(MatcherSkill))
)


async def test_an_intent_matcher_without_analyzer_follows_the_routing_analyzer():
    async with run_bot(matcher_plugin, fake_analyzer("topic", "weather"), analyzers=["topic"],
                       skills=["forecast"], installed=False,
                       config={"pipeline": {"routing_analyzer": "topic"}}) as bot:
        assert (await bot.say("will it rain?")).source == "skill:forecast"
    async with run_bot(matcher_plugin, fake_analyzer("topic", "weather"), analyzers=["topic"],
                       skills=["forecast"], installed=False) as bot:  # topic routes nothing
        assert (await bot.say("will it rain?")).source == "generator:echo"


def test_skill_match_sets_the_routing_analyzer_only_while_it_matches():
    message = Message("t", "c", "u", "rain?").annotated({"topic": Annotation("topic", "weather", 0.9)})
    skill = MatcherSkill.__new__(MatcherSkill)
    assert skill.match(message, "topic") is not None
    assert skill.match(message, "") is None  # no routing analyzer: not asked
    assert skill.match(message) is None  # outside a pipeline: "intent", which did not annotate
    assert routing_analyzer() == "intent"
