"""The 👍 / 👎 keyboard under each reply, and what a press of it does."""

from __future__ import annotations

import logging
from typing import Any

from interplay.core import Feedback, Inbox
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from .outbound import TelegramSender

log = logging.getLogger("interplay.telegram")
PREFIX = "fb"
EXPLANATION = (
    "Each of my replies has 👍 and 👎 buttons under it: press one to tell me whether the reply "
    "helped. You can also send /good or /bad to rate my last reply. Your ratings are stored with "
    "the reply and teach the next version of the model."
)


def keyboard(reply_id: str, chosen: float | None = None) -> InlineKeyboardMarkup:
    """Two buttons carrying the reply id (callback data stays well under Telegram's 64 bytes)."""
    up = "👍 ✓" if chosen is not None and chosen > 0 else "👍"
    down = "👎 ✓" if chosen is not None and chosen < 0 else "👎"
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(up, callback_data=f"{PREFIX}:+1:{reply_id}"),
        InlineKeyboardButton(down, callback_data=f"{PREFIX}:-1:{reply_id}"),
    ]])


def parse(data: str | None) -> tuple[float, str] | None:
    """(score, reply_id) from a button's callback data; None when it is not ours."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in ("+1", "-1") or not parts[2]:
        return None
    return float(parts[1]), parts[2]


class FeedbackButtons:
    """Stores a button press as feedback, acknowledges it and marks the chosen button."""

    def __init__(self, channel: str, sender: TelegramSender, store: Any) -> None:
        self.channel = channel
        self.sender = sender
        self.store = store

    async def press(self, query: CallbackQuery, inbox: Inbox) -> None:
        """Handle one callback query from the keyboard."""
        parsed = parse(query.data)
        if parsed is None:
            await self._answer(query, None)
            return
        score, reply_id = parsed
        reply = await self.store.get_reply(reply_id)
        if reply is None or not self._belongs(reply, query):
            await self._answer(query, "That reply is no longer stored, sorry.")
            return
        await inbox.feedback(Feedback(
            reply_id=reply.id, conversation_id=reply.conversation_id, user_id=str(query.from_user.id),
            score=score, kind="explicit", channel=self.channel, model_version=reply.model_version,
        ))
        thanks = "Thanks - noted." if score > 0 else "Thanks - noted. I'll try to do better."
        await self._answer(query, thanks)
        message = query.message
        if message is not None:
            await self.sender.call(
                "editMessageReplyMarkup", message.chat.id,
                lambda: self.sender.bot.edit_message_reply_markup(
                    chat_id=message.chat.id, message_id=message.message_id,
                    reply_markup=keyboard(reply_id, score)),
            )

    def _belongs(self, reply: Any, query: CallbackQuery) -> bool:
        """Callback data is the client's to forge: the reply must be ours, from the chat pressed in."""
        message = query.message
        if message is None or reply.channel != self.channel:
            return False
        return str(reply.conversation_id).split(":", 1)[0] == str(message.chat.id)

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        # Telegram shows a spinner on the button until the query is answered.
        chat = query.message.chat.id if query.message else None
        await self.sender.call("answerCallbackQuery", chat,
                               lambda: self.sender.bot.answer_callback_query(query.id, text=text))
