"""Crashes: at-least-once in (unconfirmed updates come back), at-most-once out (no reply twice)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from interplay.core.messages import Message
from interplay.core.store import SQLiteStore
from interplay.plugins.telegram.testing.fake_server import FakeTelegram

from .conftest import TOKEN, idle, telegram_bot


class StallingStore(SQLiteStore):
    """Never finishes storing an inbound message: the process "dies" between fetch and store."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fetched = asyncio.Event()

    async def record_inbound(self, message: Message) -> bool:
        self.fetched.set()
        await asyncio.Event().wait()  # forever: cancelled when the bot goes down
        raise AssertionError("unreachable")


async def test_update_fetched_but_not_stored_is_answered_once_after_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    stalling = StallingStore(path)
    async with telegram_bot(fake, store=stalling):
        fake.say(71, "survive me")
        await asyncio.wait_for(stalling.fetched.wait(), 5)
    assert [u["update_id"] for u in fake.pending] == [1]  # fetched, never confirmed
    assert fake.texts(71) == []
    async with telegram_bot(fake, store=SQLiteStore(path)) as bot:
        await fake.wait_for(lambda: fake.texts(71) == ["survive me"])
        await fake.wait_for(lambda: not fake.pending)
        await idle(bot)
    assert fake.count("sendMessage", 71) == 1


def _config(tmp_path: Path, fake: FakeTelegram) -> Path:
    lines = [
        "[store]", f'path = "{tmp_path / "store.sqlite3"}"',
        "[pipeline]", 'channels = ["telegram"]', 'generator = "echo"',
        "[plugins.echo]", "delay = 0.4",
        "[plugins.telegram]",
        *(f"{k} = {v!r}".replace("'", '"') for k, v in fake.channel_settings(user_rate=0).items()),
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_killed_process_replays_stored_messages_but_never_resends(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    config = _config(tmp_path, fake)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interplay.core", "--config", str(config), "run",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.say(72, "one two three four five six seven eight")  # slow: 3 s of echo
        fake.say(72, "second")
        fake.say(72, "third")
        # Killed once the first reply is half out and all three are stored and confirmed.
        await fake.wait_for(lambda: fake.count("sendMessage", 72) == 1 and not fake.pending, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)
        stderr = (await process.communicate())[1].decode()
    assert process.returncode == -signal.SIGKILL, stderr
    partial = fake.texts(72)[0]
    assert partial != "one two three four five six seven eight"
    async with telegram_bot(fake, store=SQLiteStore(tmp_path / "store.sqlite3")) as bot:
        await fake.wait_for(lambda: len(fake.texts(72)) == 3)
        await asyncio.sleep(0.3)
        await idle(bot)
    # The half-sent reply is not sent again (at most once); the stored, unanswered ones are answered once.
    assert fake.texts(72) == [partial, "second", "third"]
    assert fake.count("sendMessage", 72) == 3


async def test_update_ids_stay_deduplicated_across_restarts(fake: FakeTelegram, tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    async with telegram_bot(fake, store=SQLiteStore(path)) as bot:
        first = fake.say(73, "once")
        await fake.wait_for(lambda: fake.texts(73) == ["once"])
        await idle(bot)
    async with telegram_bot(fake, store=SQLiteStore(path)) as bot:
        fake.inject(first)  # Telegram re-sends an update the previous process had stored
        fake.say(73, "twice")
        await fake.wait_for(lambda: len(fake.texts(73)) == 2)
        await asyncio.sleep(0.2)
        await idle(bot)
    assert fake.texts(73) == ["once", "twice"]
