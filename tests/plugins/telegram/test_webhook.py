"""Webhook mode: secret token required, malformed posts refused, idempotent setWebhook."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from interplay.plugins.telegram.testing import fake_updates
from interplay.plugins.telegram.testing.fake_server import FakeTelegram

from .conftest import idle, telegram_bot

SECRET = "s3cret-token"  # conftest puts it in TELEGRAM_WEBHOOK_SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hook() -> dict[str, Any]:
    port = _free_port()
    return {"mode": "webhook", "webhook_port": port, "webhook_url": f"http://127.0.0.1:{port}/telegram"}


async def test_updates_arrive_through_the_webhook(fake: FakeTelegram, hook: dict[str, Any]) -> None:
    async with telegram_bot(fake, **hook):
        assert fake.webhook["url"] == hook["webhook_url"]
        assert fake.webhook["secret_token"] == SECRET
        for i in range(3):
            fake.say(61, f"hook {i}")
        await fake.wait_for(lambda: fake.texts(61) == ["hook 0", "hook 1", "hook 2"])
    assert fake.webhook_statuses == [200, 200, 200]
    assert fake.count("getUpdates") == 0


async def test_wrong_or_missing_secret_is_refused(fake: FakeTelegram, hook: dict[str, Any]) -> None:
    async with telegram_bot(fake, **hook) as bot:
        update = {"update_id": 900, "message": fake_updates.message(62, 1, "let me in")}
        assert await fake.post_webhook(update, None) == 403
        assert await fake.post_webhook(update, "wrong") == 403
        assert await fake.post_webhook(update, SECRET[:-1]) == 403
        await idle(bot)
        assert bot.bot.channels["telegram"].webhook.refused == 3
        assert await bot.store.pending() == [] and bot.bot.bus.processed == 0
        assert fake.texts(62) == []
        assert await fake.post_webhook(update, SECRET) == 200  # the same update, properly signed
        await fake.wait_for(lambda: fake.texts(62) == ["let me in"])


async def test_malformed_posts_get_400(fake: FakeTelegram, hook: dict[str, Any]) -> None:
    async with telegram_bot(fake, **hook) as bot:
        assert await fake.post_webhook(b"{not json", SECRET) == 400
        assert await fake.post_webhook({"message": {"text": "no update_id"}}, SECRET) == 400
        assert await fake.post_webhook({"update_id": 5, "message": {"text": "no chat"}}, SECRET) == 400
        assert await fake.post_webhook([1, 2], SECRET) == 400
        assert bot.bot.bus.processed == 0


async def test_set_webhook_is_idempotent_and_keeps_pending_updates(
    fake: FakeTelegram, hook: dict[str, Any]
) -> None:
    async with telegram_bot(fake, **hook):
        fake.say(63, "before the restart")
        await fake.wait_for(lambda: fake.texts(63) == ["before the restart"])
    first = dict(fake.webhook)
    fake.say(63, "while the bot is down")  # Telegram keeps it until the webhook answers 200
    await fake.wait_for(lambda: fake.webhook_statuses[-1] == 0)
    async with telegram_bot(fake, **hook):
        await fake.wait_for(lambda: fake.texts(63) == ["before the restart", "while the bot is down"])
    assert fake.webhook == first
    assert fake.count("setWebhook") == 2 and fake.count("deleteWebhook") == 0


async def test_polling_removes_a_webhook_but_keeps_its_updates(fake: FakeTelegram) -> None:
    fake.webhook = {"url": "https://example.invalid/old", "secret_token": "old"}
    fake.pending.append({"update_id": 1, "message": fake_updates.message(64, 1, "queued")})
    async with telegram_bot(fake):
        await fake.wait_for(lambda: fake.texts(64) == ["queued"])
    assert fake.count("deleteWebhook") == 1 and fake.webhook == {}


async def test_a_secret_header_that_is_not_utf8_is_refused(fake: FakeTelegram, hook: dict[str, Any]) -> None:
    import asyncio

    async with telegram_bot(fake, **hook) as bot:
        body = b'{"update_id": 901}'
        reader, writer = await asyncio.open_connection("127.0.0.1", hook["webhook_port"])
        head = b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += b"X-Telegram-Bot-Api-Secret-Token: s3cret-\xff\xfe\r\n"  # not UTF-8
        head += b"Content-Type: application/json\r\nConnection: close\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), 5)).split()[1]
        writer.close()
        assert status == b"403" and bot.bot.channels["telegram"].webhook.refused == 1
        assert await fake.post_webhook({"update_id": True, "message": fake_updates.message(63, 1, "x")},
                                       SECRET) == 400  # JSON true is not an update id


async def test_a_store_outage_under_the_webhook_is_503_and_every_update_is_answered_once_after(
    fake: FakeTelegram, hook: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from .test_polling import FlakyStore

    store = FlakyStore()
    async with telegram_bot(fake, store=store, **hook):
        store.fail(0.4)
        for i in range(3):
            for chat in (65, 66):
                fake.say(chat, f"c{chat} m{i}")
        await fake.wait_for(lambda: all(len(fake.texts(c)) == 3 for c in (65, 66)), timeout=10)
        await fake.wait_for(lambda: not fake.pending)
        await asyncio.sleep(0.2)  # time for any second answer to show
    assert store.refused >= 1 and 503 in fake.webhook_statuses and 500 not in fake.webhook_statuses
    for chat in (65, 66):
        assert fake.texts(chat) == [f"c{chat} m{i}" for i in range(3)]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # a hiccup, not a traceback
