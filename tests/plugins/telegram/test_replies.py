"""Replies: streaming edits within limits, long text split, parse-mode safety, typing, commands."""

from __future__ import annotations

from interplay.plugins.telegram.splitting import split_text, utf16_len
from interplay.plugins.telegram.testing.fake_server import FakeTelegram

from .conftest import telegram_bot


async def test_fast_reply_is_one_send_and_no_edit(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, edit_interval=1.0):
        fake.say(1, "one two three four")
        await fake.wait_for(lambda: fake.texts(1) == ["one two three four"])
    assert fake.count("sendMessage", 1) == 1
    assert fake.count("editMessageText", 1) == 0


async def test_streaming_edits_are_throttled(fake: FakeTelegram) -> None:
    words = [f"w{i}" for i in range(40)]
    async with telegram_bot(fake, edit_interval=0.25, echo={"delay": 0.02}):  # ~0.8 s of generation
        fake.say(2, " ".join(words))
        await fake.wait_for(lambda: fake.texts(2) == [" ".join(words)], timeout=10)
    edits = fake.count("editMessageText", 2)
    assert fake.count("sendMessage", 2) == 1
    assert 1 <= edits <= 0.8 / 0.25 + 2  # it streams, but never faster than one edit per interval
    assert fake.bot_messages(2)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "👍"


async def test_long_reply_is_split_on_boundaries(fake: FakeTelegram) -> None:
    paragraph = " ".join(["lorem"] * 500)  # 2999 characters
    text = "\n\n".join([paragraph, paragraph, paragraph])
    async with telegram_bot(fake):
        fake.say(3, text)
        await fake.wait_for(lambda: len(fake.texts(3)) == 3, timeout=10)
    parts = fake.texts(3)
    assert parts == [paragraph, paragraph, paragraph]
    assert "reply_markup" in fake.bot_messages(3)[-1] and "reply_markup" not in fake.bot_messages(3)[0]


def test_split_text_counts_utf16_and_keeps_words() -> None:
    text = ("😀 " * 3000).strip()  # each emoji is 2 UTF-16 units: 3000 of them need 3 messages
    chunks = split_text(text)
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert " ".join(chunks) == text and len(chunks) == 3
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]  # no boundary: a hard cut
    assert split_text("   ") == ["…"]  # Telegram refuses empty messages


async def test_markdown_that_does_not_parse_falls_back_to_plain(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, parse_mode="MarkdownV2"):
        fake.say(4, "1+1=2. (really!)")
        await fake.wait_for(lambda: fake.texts(4) == ["1+1=2. (really!)"])
    sends = fake.requests("sendMessage", 4)
    assert [p.get("parse_mode") for p in sends] == ["MarkdownV2", None]


async def test_typing_action_while_working(fake: FakeTelegram) -> None:
    async with telegram_bot(fake, typing_interval=0.1, echo={"delay": 0.1}):
        fake.say(5, "a b c d e")
        await fake.wait_for(lambda: fake.texts(5) == ["a b c d e"])
    assert fake.count("sendChatAction", 5) >= 2


async def test_commands_are_answered_without_buttons(fake: FakeTelegram) -> None:
    async with telegram_bot(fake):
        fake.say(6, "/start")
        await fake.wait_for(lambda: len(fake.texts(6)) == 1)
        fake.say(6, "/feedback")
        await fake.wait_for(lambda: len(fake.texts(6)) == 2)
        fake.say(6, "/reset")
        await fake.wait_for(lambda: len(fake.texts(6)) == 3)
    start, feedback, reset = fake.bot_messages(6)
    assert "/reset" in start["text"] and "reply_markup" not in start
    assert "👍" in feedback["text"]
    assert "forgotten" in reset["text"]
