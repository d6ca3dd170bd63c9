"""Long polling end to end: the real python-telegram-bot client against the fake server."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import pytest
from interplay.core.bus import BusClosed
from interplay.core.store import MemoryStore
from interplay.plugins.telegram.polling import MAX_ATTEMPTS, Poller
from interplay.plugins.telegram.settings import TelegramSettings
from interplay.plugins.telegram.testing import fake_updates
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from telegram import Update

from .conftest import telegram_bot


async def test_a_message_is_answered_and_confirmed(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(42, "hello there")
        await fake.wait_for(lambda: fake.texts(42) == ["hello there"])
        await fake.wait_for(lambda: not fake.pending)  # confirmed by the next getUpdates offset
        assert bot.bot.channels["telegram"].poller.offset == 2
    assert fake.count("sendMessage", 42) == 1


async def test_order_per_chat_and_all_chats_answered(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, echo={"delay": 0.005}):
        for i in range(5):
            for chat in (1, 2, 3):
                fake.say(chat, f"c{chat} m{i}")
        await fake.wait_for(lambda: all(len(fake.texts(c)) == 5 for c in (1, 2, 3)))
    for chat in (1, 2, 3):
        assert fake.texts(chat) == [f"c{chat} m{i}" for i in range(5)]


async def test_duplicated_updates_are_answered_once(fake: FakeTelegram) -> None:
    async with telegram_bot(fake):
        first = fake.say(7, "only once")
        fake.inject(first, first)  # the same update twice more in one getUpdates answer
        await fake.wait_for(lambda: fake.texts(7) == ["only once"])
        await fake.wait_for(lambda: not fake.pending)
        fake.inject(first)  # and once more after it was confirmed
        fake.say(7, "next")
        await fake.wait_for(lambda: len(fake.texts(7)) == 2)
        await asyncio.sleep(0.2)
    assert fake.texts(7) == ["only once", "next"]


async def test_out_of_order_batches_are_answered_in_update_order(fake: FakeTelegram) -> None:
    fake.shuffle = True
    for i in range(8):  # queued before the bot starts: one shuffled batch
        fake.say(5, f"m{i}")
    async with telegram_bot(fake):
        await fake.wait_for(lambda: len(fake.texts(5)) == 8)
    assert fake.texts(5) == [f"m{i}" for i in range(8)]


async def test_malformed_update_is_skipped_and_logged(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject({"update_id": 100, "message": {"text": "no chat, no date"}}, "not even an object")
    fake.push(update_id_is_wrong=True)  # a well-formed id, an unknown update type: nothing to do
    async with telegram_bot(fake) as bot:
        fake.say(9, "still works")
        await fake.wait_for(lambda: fake.texts(9) == ["still works"])
        await fake.wait_for(lambda: bot.bot.channels["telegram"].poller.offset == 101)
    assert "skipping malformed update 100" in caplog.text
    assert "skipping malformed update None" in caplog.text


async def test_429_on_send_is_retried_after_retry_after(fake: FakeTelegram) -> None:
    fake.fail("sendMessage", 429, retry_after=0.4)
    async with telegram_bot(fake):
        loop = asyncio.get_running_loop()
        started = loop.time()
        fake.say(11, "flood")
        await fake.wait_for(lambda: fake.texts(11) == ["flood"])
        assert loop.time() - started >= 0.4
    assert fake.count("sendMessage", 11) == 2  # the refused attempt and the one that went out


async def test_5xx_on_send_and_poll_are_retried(fake: FakeTelegram) -> None:
    fake.fail("sendMessage", 502, times=2)
    fake.fail("getUpdates", 500, times=2)
    async with telegram_bot(fake):
        fake.say(12, "bad gateway")
        await fake.wait_for(lambda: fake.texts(12) == ["bad gateway"])
    assert fake.count("sendMessage", 12) == 3
    assert len(fake.texts(12)) == 1


async def test_slow_responses_still_answer(fake: FakeTelegram) -> None:
    fake.slow("getUpdates", 0.3, times=2)
    fake.slow("sendMessage", 0.3)
    async with telegram_bot(fake):
        fake.say(13, "slowly")
        await fake.wait_for(lambda: fake.texts(13) == ["slowly"])


async def test_send_that_times_out_is_not_sent_twice(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.slow("sendMessage", 1.5)  # longer than request_timeout: the client gives up, Telegram sent it
    async with telegram_bot(fake, request_timeout=0.5) as bot:
        fake.say(14, "at most once")
        await fake.wait_for(lambda: fake.count("sendMessage", 14) == 1)
        await fake.wait_for(lambda: bot.bot.bus.processed == 1, timeout=5)
        await asyncio.sleep(1.2)
    assert fake.texts(14) == ["at most once"]  # delivered by the slow request, never resent
    assert fake.count("sendMessage", 14) == 1
    assert "may have gone out; not resent" in caplog.text


async def test_edit_that_times_out_is_retried(fake: FakeTelegram) -> None:
    fake.slow("editMessageText", 1.0)
    async with telegram_bot(fake, request_timeout=0.4, edit_interval=0.1, echo={"delay": 0.05}):
        fake.say(15, "one two three four five six")
        await fake.wait_for(lambda: fake.texts(15) == ["one two three four five six"], timeout=8)


async def test_blocked_chat_is_logged_once_and_not_retried(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "interplay.telegram")
    fake.block(16)
    async with telegram_bot(fake) as bot:
        fake.say(16, "first")
        fake.say(16, "second")
        fake.say(17, "others still served")
        await fake.wait_for(lambda: bot.bot.bus.processed == 3)
    assert fake.count("sendMessage", 16) == 2  # one attempt per reply, no retries
    refusals = [r for r in caplog.records if "refused by Telegram" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert fake.texts(17) == ["others still served"]


class FlakyStore(MemoryStore):
    """A store that is locked (as SQLite under a long write) for `outage` seconds after `fail()`."""

    def __init__(self) -> None:
        super().__init__()
        self.until = 0.0
        self.refused = 0

    def fail(self, outage: float) -> None:
        self.until = time.monotonic() + outage

    def _check(self) -> None:
        if time.monotonic() < self.until:
            self.refused += 1
            raise sqlite3.OperationalError("database is locked")

    async def record_inbound(self, message):  # type: ignore[no-untyped-def]
        self._check()
        return await super().record_inbound(message)

    async def seen(self, channel: str, key: str) -> bool:
        self._check()
        return await super().seen(channel, key)


async def test_a_store_outage_loses_no_update_and_answers_each_once(fake: FakeTelegram) -> None:
    store = FlakyStore()
    async with telegram_bot(fake, store=store) as bot:
        store.fail(0.4)
        for i in range(4):
            for chat in (31, 32, 33):
                fake.say(chat, f"c{chat} m{i}")
        fake.say(34, "/feedback")  # answered by the channel itself, behind a dedupe key
        await fake.wait_for(lambda: all(len(fake.texts(c)) == 4 for c in (31, 32, 33)), timeout=10)
        await fake.wait_for(lambda: not fake.pending)
        await asyncio.sleep(0.2)  # time for any second answer to show
        poller = bot.bot.channels["telegram"].poller
        assert poller.dropped == 0
    assert store.refused > 3  # the outage outlasted the old three immediate attempts
    for chat in (31, 32, 33):
        assert fake.texts(chat) == [f"c{chat} m{i}" for i in range(4)]
    assert fake.count("sendMessage", 34) == 1


async def test_poller_backs_off_while_the_store_is_locked() -> None:
    async def handle(update: Update) -> None:
        raise sqlite3.OperationalError("database is locked")

    poller = Poller(None, handle, TelegramSettings(), str)
    for _ in range(MAX_ATTEMPTS + 3):  # never dropped, however often it is tried
        assert await poller.process(_updates(41, 42))
        assert poller.offset == 41 and poller.dropped == 0
    assert poller._stalled is not None  # run() sleeps before fetching again


def _updates(*ids: int, chat: int = 1) -> list[dict]:
    return [{"update_id": i, "message": fake_updates.message(chat, i, f"m{i}")} for i in ids]


async def test_poller_leaves_updates_unconfirmed_when_the_bus_closes() -> None:
    seen: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == 12:
            raise BusClosed("shutting down")
        seen.append(update.update_id)

    poller = Poller(None, handle, TelegramSettings(), str)
    assert not await poller.process(_updates(11, 12, 13))  # False: stop polling
    assert seen == [11] and poller.offset == 12  # 12 and 13 are fetched again next time


async def test_poller_drops_an_update_that_keeps_failing(caplog: pytest.LogCaptureFixture) -> None:
    async def handle(update: Update) -> None:
        if update.update_id == 21:
            raise RuntimeError("a bug")

    poller = Poller(None, handle, TelegramSettings(), str)
    for _ in range(MAX_ATTEMPTS - 1):
        assert await poller.process(_updates(21, 22))
        assert poller.offset == 21  # retried with the next fetch
    assert await poller.process(_updates(21, 22))
    assert poller.offset == 23 and poller.dropped == 1
    assert "update 21 dropped" in caplog.text


async def test_outbound_rate_limit_is_applied(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, max_messages_per_second=5):
        loop = asyncio.get_running_loop()
        started = loop.time()
        for chat in range(100, 110):
            fake.say(chat, "limited")
        await fake.wait_for(lambda: fake.count("sendMessage") == 10)
        assert loop.time() - started >= 0.9  # 5 at once, then 5 per second


async def test_poller_skips_an_update_whose_id_is_a_boolean(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    async def handle(update: Update) -> None:
        seen.append(update.update_id)

    poller = Poller(None, handle, TelegramSettings(), str)
    forged = {"update_id": True, "message": fake_updates.message(1, 1, "true is not 1")}
    assert await poller.process([forged, *_updates(2)])
    assert seen == [2] and "skipping malformed update True" in caplog.text
