"""Skills are routed by the analyzer named in [pipeline] routing_analyzer, not by a hard-coded name."""

from __future__ import annotations

from types import SimpleNamespace

from interplay.core import Skill, hookimpl
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
