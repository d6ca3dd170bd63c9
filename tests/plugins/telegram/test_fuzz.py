"""Property-based fuzzing of Telegram updates: the router, and the webhook endpoint of a running bot."""

from __future__ import annotations

import itertools
import socket
from contextlib import asynccontextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interplay.core import Message
from interplay.plugins.telegram import fake_updates
from interplay.plugins.telegram.fake_server import FakeTelegram
from interplay.plugins.telegram.inbound import Answer, Press, Skip, Submit, UpdateRouter, target_of
from interplay.plugins.telegram.settings import TelegramSettings
from telegram import Bot, Update

from tests.core.fuzz_harness import TEXT, LiveBot

from .conftest import TOKEN, telegram_bot

FUZZ = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
SECRET = "s3cret-token"  # conftest puts it in TELEGRAM_WEBHOOK_SECRET
BOT_ID = 42
_update_ids = itertools.count(1)

ENTITY = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["bot_command", "mention", "text_mention", "bold", "url"]),
        "offset": st.integers(0, 60),
        "length": st.integers(0, 60),
    },
    optional={"user": st.builds(fake_updates.user, st.sampled_from([BOT_ID, 7]))},
)
MESSAGE = st.builds(
    lambda chat_id, text, chat_type, user_id, entities, reply_to_bot, topic: fake_updates.message(
        chat_id,
        1,
        text,
        chat_type=chat_type,
        user_id=user_id,
        **({"entities": entities} if entities and text is not None else {}),  # as Telegram sends them
        **(
            {"reply_to_message": fake_updates.message(chat_id, 0, "earlier", user_id=BOT_ID)}
            if reply_to_bot
            else {}
        ),
        **({"message_thread_id": 5, "is_topic_message": True} if topic else {}),
    ),
    st.integers(-(10**13), 10**13).filter(bool),
    st.none() | TEXT | st.sampled_from(["/start@testbot", "@testbot hi", "/feedback", "@TESTBOT"]),
    st.sampled_from(["private", "group", "supergroup", "channel"]),
    st.none() | st.integers(1, 10**10),
    st.lists(ENTITY, max_size=3),
    st.booleans(),
    st.booleans(),
)
UPDATE = st.builds(
    lambda kind, msg: {"update_id": next(_update_ids), kind: msg},
    st.sampled_from(["message", "edited_message"]),
    MESSAGE,
)


def _router() -> UpdateRouter:
    return UpdateRouter(TelegramSettings(user_rate=0), "telegram", BOT_ID, "testbot")


@settings(FUZZ, max_examples=300)
@given(UPDATE)
def test_any_update_is_routed_without_raising(data):
    update = Update.de_json(data, Bot(TOKEN))
    action = _router().route(update)
    assert isinstance(action, Submit | Answer | Press | Skip)
    if isinstance(action, Submit):
        message = action.message
        assert isinstance(message, Message) and isinstance(message.text, str)
        target_of(message)  # the reply can always be addressed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _webhook_bot():
    port = _free_port()
    hook = {"mode": "webhook", "webhook_port": port, "webhook_url": f"http://127.0.0.1:{port}/telegram"}
    async with FakeTelegram(TOKEN) as fake, telegram_bot(fake, **hook) as bot:
        yield fake, bot


BODY = st.binary(max_size=120) | st.builds(
    lambda update_id, junk: {"update_id": update_id, "message": junk},
    st.integers(),
    st.dictionaries(
        st.sampled_from(["text", "chat", "from", "date", "message_id"]), TEXT | st.integers(), max_size=4
    ),
)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
def test_the_webhook_answers_any_body_without_a_500():
    with LiveBot(_webhook_bot) as live:
        fake, bot = live.bot

        @settings(FUZZ, max_examples=120)
        @given(UPDATE | BODY)
        def post(body):
            status = live.call(lambda: fake.post_webhook(body, SECRET))
            assert status in (200, 400), (status, body)

        post()
        live.call(lambda: bot.bot.bus.drain(10))
        assert not bot.bot.errors, bot.bot.errors
        live.assert_clean()
