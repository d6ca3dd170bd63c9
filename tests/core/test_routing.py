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


async def test_by_default_the_intent_analyzer_routes_and_topic_does_not():
    assert await _reply({}) == "generator:echo"
