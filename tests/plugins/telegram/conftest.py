"""Fixtures: a fake Bot API server and a bot running the telegram channel against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from interplay.testing import TestBot, run_bot

TOKEN = "123456:TEST-token"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-token")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@asynccontextmanager
async def telegram_bot(fake: FakeTelegram, *, store: Any = None, echo: dict[str, Any] | None = None,
                       config: dict[str, Any] | None = None, **settings: Any) -> AsyncIterator[TestBot]:
    """A bot whose only channel is telegram, talking to `fake`, answering with the echo generator."""
    cfg = {"pipeline": {"channels": ["telegram"]}, **(config or {})}
    settings.setdefault("user_rate", 0)  # tests send in bursts; test_chats.py covers the limit
    tables = {"telegram": fake.channel_settings(**settings), "echo": echo or {}}
    async with run_bot(config=cfg, settings=tables, store=store) as bot:
        assert bot.bot.status.get("telegram") == "running", bot.bot.status
        yield bot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The channel calls getUpdates through do_api_request on purpose (polling.py says why);
    # pytest resets the module's own filter for each test, so it is repeated here.
    for item in items:
        if "plugins/telegram" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"))
            # PTB's own RetryAfter constructor reads its deprecated int `retry_after`.
            item.add_marker(pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"))


async def idle(bot: TestBot, timeout: float = 10.0) -> None:
    """Wait until the bot has no message in flight (replies sent and stored)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while bot.bot.bus is not None and bot.bot.bus.conversations:
        assert loop.time() < deadline, "the bot did not go idle"
        await asyncio.sleep(0.02)
