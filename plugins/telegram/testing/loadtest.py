"""A load run through the fake Bot API server: many chats, many messages each, every reply checked.

Used by the load test and by `bench/telegram_load.py`; plugin authors can point it at their
own pipeline the same way (`run_load(..., echo=..., channel=...)`).
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from interplay.core.store import MemoryStore, SQLiteStore
from interplay.testing import run_bot

from .fake_server import FakeTelegram


@dataclass
class LoadResult:
    """What one run measured, and whether every chat got every answer exactly once, in order."""

    mode: str
    chats: int
    per_chat: int
    messages: int
    seconds: float
    msgs_per_s: float
    p50_ms: float
    p95_ms: float
    answered_once_in_order: bool
    problems: list[str]

    def row(self) -> dict[str, Any]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check(fake: FakeTelegram, chats: int, per_chat: int) -> list[str]:
    problems = []
    for chat in range(1, chats + 1):
        want = [f"c{chat} m{i}" for i in range(per_chat)]
        got = fake.texts(chat)
        if got != want:
            problems.append(f"chat {chat}: expected {len(want)} replies in order, got {got[:3]}...")
    return problems


def _latencies(fake: FakeTelegram, pushed: dict[str, float]) -> list[float]:
    found = []
    for (method, params), at in zip(fake.calls, fake.call_times, strict=True):
        if method == "sendMessage" and params.get("text") in pushed:
            found.append(at - pushed.pop(params["text"]))
    return sorted(found)


def _settings(fake: FakeTelegram, mode: str, workdir: Path, channel: dict[str, Any]) -> dict[str, Any]:
    """The channel's table: aimed at `fake`, secrets in files (no environment needed)."""
    token, secret = workdir / "token", workdir / "webhook-secret"
    token.write_text(fake.token)
    secret.write_text("load-test-secret")
    settings = fake.channel_settings(user_rate=0, feedback_buttons=False, token=f"$file:{token}", **channel)
    if mode == "webhook":
        port = _free_port()
        settings.update(mode="webhook", webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram",
                        webhook_secret=f"$file:{secret}")
    return settings


async def _push_and_wait(fake: FakeTelegram, chats: int, per_chat: int, timeout: float) -> dict[str, float]:
    """Every message at once, interleaved across chats; returns when as many replies went out."""
    pushed: dict[str, float] = {}
    for i in range(per_chat):
        for chat in range(1, chats + 1):
            text = f"c{chat} m{i}"
            pushed[text] = time.monotonic()
            fake.say(chat, text, user_id=chat)
    await fake.wait_for(lambda: fake.count("sendMessage") >= chats * per_chat, timeout=timeout, interval=0.05)
    return pushed


async def run_load(chats: int = 200, per_chat: int = 20, *, mode: str = "polling", store: str = "sqlite",
                   workdir: Path | None = None, timeout: float = 600.0, **channel: Any) -> LoadResult:
    """Send `per_chat` messages in each of `chats` chats and wait for every reply; then check them."""
    with tempfile.TemporaryDirectory() as scratch:
        where = workdir or Path(scratch)
        async with FakeTelegram() as fake:
            settings = _settings(fake, mode, where, channel)
            chosen = SQLiteStore(where / f"load-{mode}.sqlite3") if store == "sqlite" else MemoryStore()
            async with run_bot(config={"pipeline": {"channels": ["telegram"]}},
                               settings={"telegram": settings}, store=chosen) as bot:
                if bot.bot.status.get("telegram") != "running":
                    raise RuntimeError(f"the telegram channel is not running: {bot.bot.status['telegram']}")
                started = time.monotonic()
                pushed = await _push_and_wait(fake, chats, per_chat, timeout)
                seconds = time.monotonic() - started
                await asyncio.sleep(0.2)  # anything sent twice would show up now
            problems = _check(fake, chats, per_chat)
            latencies = _latencies(fake, pushed)
    total = chats * per_chat
    return LoadResult(
        mode=f"{mode}+{store}", chats=chats, per_chat=per_chat, messages=total, seconds=round(seconds, 2),
        msgs_per_s=round(total / seconds, 1), p50_ms=round(statistics.median(latencies) * 1000, 1),
        p95_ms=round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        answered_once_in_order=not problems, problems=problems[:5],
    )
