"""An in-process ingress (with the fake channel) and workers, all on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from interplay.core.app import Bot
from interplay.core.assembly import build_bot
from interplay.core.plugins import load_registry
from interplay.testing import FakeChannel

from .conftest import config_of, fake_channel_plugin


@asynccontextmanager
async def scaled(
    data: dict[str, Any], workers: int = 1, *, ingress: bool = True
) -> AsyncIterator[tuple[Bot, list[Bot]]]:
    """Start `workers` worker bots and (unless told not to) an ingress bot "ingress" with the fake channel."""
    config = config_of(data)
    registry = load_registry(config, {"fake": fake_channel_plugin})
    front = build_bot(config, registry, role="ingress", name="ingress")
    bots = [build_bot(config, role="worker", name=f"w{i}") for i in range(workers)]
    started: list[Any] = []
    try:
        for bot in [*bots, *([front] if ingress else [])]:
            await bot.start()
            started.append(bot)
        yield front, bots
    finally:
        for bot in reversed(started):
            await bot.stop()


def channel_of(ingress: Bot) -> FakeChannel:
    channel = ingress.channels["fake"]
    assert isinstance(channel, FakeChannel)
    return channel


async def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll an (async or plain) predicate until true; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while loop.time() < until:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
