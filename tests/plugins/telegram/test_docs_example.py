"""The plugin-author example in docs/telegram.md §7 runs as written (with a stand-in skill)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from interplay.core import Skill, hookimpl
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from interplay.testing import run_bot


class Forecast(Skill):
    name = "forecast"

    async def answer(self, conversation: object) -> str:
        return "Sunny."


my_plugin = SimpleNamespace(register_skills=hookimpl(lambda register: register(Forecast)))


async def test_my_skill_over_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-token")
    async with FakeTelegram() as fake:
        settings = {"telegram": fake.channel_settings(user_rate=0)}
        async with run_bot(my_plugin, skills=["forecast"], config={"pipeline": {"channels": ["telegram"]}},
                           settings=settings):
            fake.fail("sendMessage", 429, retry_after=1)   # also: 5xx, slow(), inject(), shuffle
            fake.say(42, "weather in Paris?")
            await fake.wait_for(lambda: fake.texts(42) == ["Sunny."])
