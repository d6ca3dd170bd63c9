"""The fake Bot API server speaks the protocol the real client expects."""

from __future__ import annotations

import asyncio
import time

import pytest
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from telegram import Bot
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from .conftest import TOKEN


@pytest.fixture
async def client(fake: FakeTelegram) -> Bot:
    async with Bot(TOKEN, base_url=fake.api_url) as bot:
        yield bot


async def test_get_me_and_wrong_token(fake: FakeTelegram, client: Bot) -> None:
    assert client.username == "interplay_test_bot"
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=fake.api_url):
            pass


async def test_get_updates_long_polls_and_confirms_by_offset(fake: FakeTelegram, client: Bot) -> None:
    started = time.monotonic()
    assert await client.get_updates(timeout=0.3) == ()
    assert time.monotonic() - started >= 0.3
    waiting = asyncio.create_task(client.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    fake.say(1, "wake up")
    updates = await asyncio.wait_for(waiting, 2)  # returns as soon as an update arrives
    assert [u.message.text for u in updates] == ["wake up"]
    assert len(await client.get_updates()) == 1  # not confirmed yet: delivered again
    assert await client.get_updates(offset=updates[0].update_id + 1) == ()
    assert fake.pending == []


async def test_send_edit_and_their_errors(fake: FakeTelegram, client: Bot) -> None:
    sent = await client.send_message(3, "draft")
    await client.edit_message_text("final", chat_id=3, message_id=sent.message_id)
    assert fake.texts(3) == ["final"]
    with pytest.raises(BadRequest, match="not modified"):
        await client.edit_message_text("final", chat_id=3, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await client.send_message(3, "a.b", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="too long"):
        await client.send_message(3, "x" * 4097)
    assert await client.send_chat_action(3, "typing") is True
    assert await client.answer_callback_query("q1") is True
    fake.block(4)
    with pytest.raises(Forbidden):
        await client.send_message(4, "hello?")


async def test_injected_faults(fake: FakeTelegram, client: Bot) -> None:
    fake.fail("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await client.send_message(5, "x")
    assert "3" in str(caught.value)
    fake.fail("sendMessage", 503)
    with pytest.raises(NetworkError):
        await client.send_message(5, "x")
    fake.slow("sendMessage", 0.3)
    started = time.monotonic()
    await client.send_message(5, "slow")
    assert time.monotonic() - started >= 0.3


async def test_webhook_methods(fake: FakeTelegram, client: Bot) -> None:
    assert await client.set_webhook("https://example.invalid/hook", secret_token="abc") is True
    info = await client.get_webhook_info()
    assert info.url == "https://example.invalid/hook"
    with pytest.raises(Conflict):
        await client.get_updates()
    assert await client.delete_webhook() is True
    assert (await client.get_webhook_info()).url == ""
