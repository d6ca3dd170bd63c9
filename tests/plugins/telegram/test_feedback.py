"""The 👍 / 👎 buttons: stored with the reply id, conversation and model version."""

from __future__ import annotations

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
