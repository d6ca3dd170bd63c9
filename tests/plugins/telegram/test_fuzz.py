"""Property-based fuzzing of Telegram updates: the router, and the webhook endpoint of a running bot."""

from __future__ import annotations

import itertools
import socket
from contextlib import asynccontextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from interplay.core import Message
from interplay.plugins.telegram.inbound import Answer, Press, Skip, Submit, UpdateRouter, target_of
from interplay.plugins.telegram.settings import TelegramSettings
from interplay.plugins.telegram.testing import fake_updates
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from telegram import Bot, Update

from tests.core.fuzz_harness import LiveBot

from .conftest import TOKEN, telegram_bot

FUZZ = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
SECRET = "s3cret-token"  # conftest puts it in TELEGRAM_WEBHOOK_SECRET
BOT_ID = 42
_BOT = Bot(TOKEN)  # one client for every example: building one per example dominated the run time
_update_ids = itertools.count(1)
# Telegram sends valid UTF-8: no lone surrogates (test_lone_surrogates... below covers those).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)

ENTITY_TYPES = st.sampled_from(["bot_command", "mention", "text_mention", "bold", "url"])


@st.composite
def messages(draw):
    """A Message object as Telegram sends it: entities, if any, start and end on UTF-16 boundaries."""
    chat_type = draw(st.sampled_from(["private", "group", "supergroup", "channel"]))
    text = draw(
        st.none() | TEXT | st.sampled_from(["/start@testbot", "@testbot hi", "/feedback", "@TESTBOT"])
    )
    extra = {}
    if text:
        bounds = [0]
        for char in text:
            bounds.append(bounds[-1] + (2 if ord(char) > 0xFFFF else 1))
        entities = []
        for _ in range(draw(st.integers(0, 3))):
            start, end = sorted(draw(st.lists(st.sampled_from(bounds), min_size=2, max_size=2)))
            entity = {"type": draw(ENTITY_TYPES), "offset": start, "length": end - start}
            if entity["type"] == "text_mention":
                entity["user"] = fake_updates.user(draw(st.sampled_from([BOT_ID, 7])))
            entities.append(entity)
        if entities:
            extra["entities"] = entities
    if draw(st.booleans()):
        extra["reply_to_message"] = fake_updates.message(1, 0, "earlier", user_id=BOT_ID)
    if draw(st.booleans()):
        extra |= {"message_thread_id": 5, "is_topic_message": True}
    chat_id = draw(st.integers(-(10**13), 10**13).filter(bool))
    user_id = draw(st.none() | st.integers(1, 10**10))
    return fake_updates.message(chat_id, 1, text, chat_type=chat_type, user_id=user_id, **extra)


UPDATE = st.builds(
    lambda kind, msg: {"update_id": next(_update_ids), kind: msg},
    st.sampled_from(["message", "edited_message"]),
    messages(),
)


def _router() -> UpdateRouter:
    return UpdateRouter(TelegramSettings(user_rate=0), "telegram", BOT_ID, "testbot")


@settings(FUZZ, max_examples=200)
@given(UPDATE)
def test_any_update_is_routed_without_raising(data):
    update = Update.de_json(data, _BOT)
    action = _router().route(update)
    assert isinstance(action, Submit | Answer | Press | Skip)
    if isinstance(action, Submit):
        message = action.message
        assert isinstance(message, Message) and isinstance(message.text, str)
        target_of(message)  # the reply can always be addressed


def test_lone_surrogates_in_a_group_message_with_entities_are_routed():
    """Found by fuzzing: PTB's parse_entities encodes the text as UTF-16, which a lone surrogate breaks.

    Telegram itself never sends one, but a JSON `\\ud800` escape decodes to it; the router should Skip or
    Submit rather than raise (the webhook would answer 500 and Telegram would retry). Fixed: the router
    falls back to reading the words when PTB cannot parse the entities.
    """
    entity = {"type": "bot_command", "offset": 0, "length": 1}
    data = {
        "update_id": 1,
        "message": fake_updates.message(-5, 1, "\ud800", chat_type="group", entities=[entity]),
    }
    action = _router().route(Update.de_json(data, _BOT))
    assert isinstance(action, Submit | Skip)


def test_an_entity_that_splits_an_emoji_is_routed():
    """Found by fuzzing: an entity offset inside a UTF-16 surrogate pair makes PTB's parse_entities raise."""
    entity = {"type": "mention", "offset": 1, "length": 1}
    data = {
        "update_id": 1,
        "message": fake_updates.message(-5, 1, "🙂 hi", chat_type="group", entities=[entity]),
    }
    action = _router().route(Update.de_json(data, _BOT))
    assert isinstance(action, Submit | Skip)


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

        @settings(FUZZ, max_examples=80)
        @given(UPDATE | BODY)
        @example({"update_id": 0, "message": {"date": 0, "message_id": ""}})  # no chat: once a 500
        def post(body):
            status = live.call(lambda: fake.post_webhook(body, SECRET))
            assert status in (200, 400), (status, body)

        post()
        live.call(lambda: bot.bot.bus.drain(10))
        assert not bot.bot.errors, bot.bot.errors
        live.assert_clean()
