"""The 👍 / 👎 buttons: stored with the reply id, conversation and model version."""

from __future__ import annotations

import asyncio

from interplay.plugins.telegram.testing.fake_server import FakeTelegram

from .conftest import idle, telegram_bot


def _button(fake: FakeTelegram, chat: int, which: int) -> tuple[int, str]:
    message = fake.bot_messages(chat)[-1]
    return message["message_id"], message["reply_markup"]["inline_keyboard"][0][which]["callback_data"]


async def test_pressing_a_button_stores_feedback(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(21, "rate me")
        await fake.wait_for(lambda: fake.texts(21) == ["rate me"])
        await idle(bot)  # the reply is stored once sent; a press before that finds nothing yet
        message_id, data = _button(fake, 21, 1)  # 👎
        press = fake.press(21, message_id, data, user_id=77)
        fake.inject(press)  # delivered twice: stored once
        await fake.wait_for(lambda: fake.count("editMessageReplyMarkup", 21) == 1)
        await fake.wait_for(lambda: not fake.pending)
        stored = await bot.store.feedback_for()
        reply = await bot.store.last_reply("21")
    assert len(stored) == 1
    feedback = stored[0]
    assert (feedback.reply_id, feedback.conversation_id, feedback.user_id) == (reply.id, "21", "77")
    assert (feedback.score, feedback.model_version, feedback.channel) == (-1.0, "echo-1", "telegram")
    assert reply.external_id == str(message_id)
    assert fake.count("answerCallbackQuery") == 1
    buttons = fake.bot_messages(21)[-1]["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎 ✓"]


async def test_a_press_that_is_not_ours_is_acknowledged_and_ignored(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(22, "hello")
        await fake.wait_for(lambda: fake.texts(22) == ["hello"])
        fake.press(22, fake.bot_messages(22)[0]["message_id"], "something:else")
        await fake.wait_for(lambda: fake.count("answerCallbackQuery") == 1)
        assert await bot.store.feedback_for() == []


async def test_pressing_again_and_again_is_one_vote_and_the_latest_wins(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(25, "rate me")
        await fake.wait_for(lambda: fake.texts(25) == ["rate me"])
        await idle(bot)
        message_id, up = _button(fake, 25, 0)
        _, down = _button(fake, 25, 1)
        for _ in range(30):
            fake.press(25, message_id, up, user_id=5)
        fake.press(25, message_id, down, user_id=5)
        fake.press(25, message_id, up, user_id=6)  # another person's vote counts on its own
        await fake.wait_for(lambda: fake.count("answerCallbackQuery") == 32)
        await fake.wait_for(lambda: not fake.pending)
        await asyncio.sleep(0.1)
        stored = await bot.store.feedback_for()
    assert sorted((f.user_id, f.score) for f in stored) == [("5", -1.0), ("6", 1.0)]


async def test_forged_callback_data_for_another_chats_reply_is_refused(fake: FakeTelegram) -> None:
    async with telegram_bot(fake) as bot:
        fake.say(26, "theirs")
        fake.say(27, "mine")
        await fake.wait_for(lambda: fake.texts(26) == ["theirs"] and fake.texts(27) == ["mine"])
        await idle(bot)
        _, theirs = _button(fake, 26, 0)
        mine, _ = _button(fake, 27, 0)
        fake.press(27, mine, theirs, user_id=27)  # chat 27's button, carrying chat 26's reply id
        await fake.wait_for(lambda: fake.count("answerCallbackQuery") == 1)
        await asyncio.sleep(0.1)
        assert await bot.store.feedback_for() == []


async def test_button_presses_are_rate_limited_like_messages(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, user_rate=1, user_burst=3) as bot:
        fake.say(28, "rate me")
        await fake.wait_for(lambda: fake.texts(28) == ["rate me"])
        await idle(bot)
        message_id, up = _button(fake, 28, 0)
        for _ in range(20):
            fake.press(28, message_id, up, user_id=28)
        await fake.wait_for(lambda: not fake.pending)
        await asyncio.sleep(0.2)
    assert fake.count("answerCallbackQuery") == 2  # the burst of 3 less the message itself
