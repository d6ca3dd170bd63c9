"""Who gets an answer: groups, allow-lists, the per-user rate limit, non-text and edited messages."""

from __future__ import annotations

import asyncio

from interplay.plugins.telegram.inbound import UserRateLimit
from interplay.plugins.telegram.testing import fake_updates
from interplay.plugins.telegram.testing.fake_server import BOT_ID, FakeTelegram

from .conftest import idle, telegram_bot

GROUP = -100123


async def _settle(fake: FakeTelegram) -> None:
    """Wait until every update was fetched and confirmed, and local answers had time to go out."""
    await fake.wait_for(lambda: not fake.pending)
    await asyncio.sleep(0.15)


async def test_groups_answer_only_mentions_replies_and_own_commands(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(GROUP, "people talking among themselves", user_id=1)
        fake.say(GROUP, "/help@some_other_bot", user_id=1)
        mention = fake.say(GROUP, "@interplay_test_bot what is up", user_id=1)
        await fake.wait_for(lambda: len(fake.texts(GROUP)) == 1)
        mine = fake.bot_messages(GROUP)[0]
        fake.say(GROUP, "and a reply to you", user_id=2, reply_to=fake_updates.message(
            GROUP, mine["message_id"], mine["text"], user_id=BOT_ID))
        fake.say(GROUP, "/help@interplay_test_bot", user_id=2)
        await fake.wait_for(lambda: len(fake.texts(GROUP)) == 3)
        await _settle(fake)
        await idle(bot)
        history = await bot.store.history(str(GROUP), 10)
    texts = fake.texts(GROUP)
    assert texts[:2] == ["what is up", "and a reply to you"]  # the mention itself is stripped
    assert texts[2].startswith("Talk to me")
    first = fake.requests("sendMessage")[0]
    assert first["reply_parameters"]["message_id"] == mention["message"]["message_id"]  # quotes in groups
    assert [t.text for t in history if t.role == "user"] == ["what is up", "and a reply to you"]


async def test_allow_lists(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, allowed_users=[1, 2], allowed_chats=[1, GROUP]):
        fake.say(1, "allowed user in an allowed chat", user_id=1)
        fake.say(3, "stranger", user_id=3)
        fake.say(2, "allowed user, chat not allowed", user_id=2)
        fake.say(GROUP, "@interplay_test_bot stranger in the group", user_id=4)
        fake.say(GROUP, "@interplay_test_bot hi", user_id=2)
        await fake.wait_for(lambda: len(fake.texts(GROUP)) == 1)
        await _settle(fake)
    assert fake.texts(1) == ["allowed user in an allowed chat"]
    assert fake.texts(3) == fake.texts(2) == []
    assert fake.texts(GROUP) == ["hi"]


async def test_rate_limit_answers_politely_once(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, user_rate=6, user_burst=2) as bot:  # one more message every 10 s
        for i in range(6):
            fake.say(31, f"message {i}")
        await fake.wait_for(lambda: len(fake.texts(31)) == 3)
        await _settle(fake)
        reply = bot.bot.channels["telegram"].settings.rate_limited_reply
    assert sorted(fake.texts(31)) == sorted(["message 0", "message 1", reply])


async def test_non_text_gets_an_explanation_and_service_messages_nothing(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        sticker = fake.say(41, None, sticker=fake_updates.STICKER)
        fake.inject(sticker)  # re-delivered: still explained only once
        fake.say(41, None, photo=fake_updates.PHOTO, caption="look")
        fake.say(41, None, voice=fake_updates.VOICE)
        fake.say(GROUP, None, new_chat_members=[fake_updates.user(9)])
        fake.say(GROUP, None, photo=fake_updates.PHOTO)  # in a group and not addressed: ignored
        await fake.wait_for(lambda: len(fake.texts(41)) == 3)
        await _settle(fake)
        explanation = bot.bot.channels["telegram"].settings.non_text_reply
    assert fake.texts(41) == [explanation] * 3
    assert fake.texts(GROUP) == []


async def test_edits_within_the_window_are_answered_again(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, edit_window=60):
        original = fake.say(51, "helo")
        await fake.wait_for(lambda: fake.texts(51) == ["helo"])
        fake.edit(original, "hello", after=5)
        await fake.wait_for(lambda: fake.texts(51) == ["helo", "hello"])
        fake.edit(original, "hello again", after=600)  # too late: ignored
        await _settle(fake)
    assert fake.texts(51) == ["helo", "hello"]
    second = fake.requests("sendMessage")[1]
    assert second["reply_parameters"]["message_id"] == original["message"]["message_id"]


async def test_edits_can_be_ignored(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, edited_messages="ignore"):
        original = fake.say(52, "first")
        await fake.wait_for(lambda: fake.texts(52) == ["first"])
        fake.edit(original, "second", after=1)
        await _settle(fake)
    assert fake.texts(52) == ["first"]


async def test_forum_topics_are_separate_conversations(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(GROUP, "@interplay_test_bot in topic 7", user_id=1, message_thread_id=7,
                 is_topic_message=True)
        await fake.wait_for(lambda: len(fake.texts(GROUP)) == 1)
        await idle(bot)
        history = await bot.store.history(f"{GROUP}:7", 10)
    assert [t.text for t in history] == ["in topic 7", "in topic 7"]
    assert fake.requests("sendMessage")[0]["message_thread_id"] == 7


def test_user_rate_limit_bucket() -> None:
    limit = UserRateLimit(per_minute=60, burst=2)  # one more message per second
    assert [limit.take(1, now=0.0) for _ in range(4)] == ["ok", "ok", "warn", "drop"]
    assert limit.take(2, now=0.0) == "ok"  # per user
    assert limit.take(1, now=1.0) == "ok"  # refilled one token: allowed, and warned afresh later
    assert limit.take(1, now=1.0) == "warn"
    limit._forget_full(now=100.0)
    assert limit._buckets == {}  # idle users are forgotten; they start full again


ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot: the `from` of every anonymous admin


async def test_anonymous_admins_of_two_groups_are_two_people(fake: FakeTelegram) -> None:
    first, second = -100201, -100202
    async with telegram_bot(fake) as bot:
        for group in (first, second):
            fake.say(group, f"@interplay_test_bot hello from {group}", user_id=ANONYMOUS_ADMIN,
                     sender_chat=fake_updates.chat(group))
        await fake.wait_for(lambda: len(fake.texts(first)) == 1 and len(fake.texts(second)) == 1)
        await idle(bot)
        fake.say(first, "/forget", user_id=ANONYMOUS_ADMIN, sender_chat=fake_updates.chat(first))
        await fake.wait_for(lambda: len(fake.texts(first)) == 2)
        await idle(bot)
        left = await bot.store.exchanges()
    assert [(m.user_id, m.text) for m, _ in left] == [(str(second), f"hello from {second}")]
