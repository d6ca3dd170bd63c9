"""What to do with one Telegram update: hand it to the core, answer it here, or leave it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from interplay.core import Message
from telegram import CallbackQuery, MessageEntity, Update
from telegram import Message as TgMessage

from .settings import TelegramSettings
from .streaming import Target

GROUP_TYPES = ("group", "supergroup")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MAX_BUCKETS = 10_000  # rate-limit state kept before idle users are forgotten


@dataclass(frozen=True)
class Submit:
    """An ordinary message for the core."""

    message: Message


@dataclass(frozen=True)
class Answer:
    """A short reply the channel sends itself (non-text, rate limited, /feedback)."""

    target: Target
    text: str


@dataclass(frozen=True)
class Press:
    """A press of a feedback button."""

    query: CallbackQuery


@dataclass(frozen=True)
class Skip:
    """Nothing to do (not addressed to the bot, not allowed, a service message)."""

    why: str


Action = Submit | Answer | Press | Skip


class UserRateLimit:
    """A token bucket per user; the polite reply goes out once per burst of excess."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # user -> (tokens, at, warned)

    def take(self, user_id: int, now: float | None = None) -> str:
        """"ok", "warn" (first refusal: reply politely) or "drop" (refused again)."""
        if self.rate <= 0:
            return "ok"
        now = time.monotonic() if now is None else now
        if len(self._buckets) > MAX_BUCKETS:
            self._forget_full(now)
        tokens, at, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[user_id] = (tokens - 1.0, now, False)
            return "ok"
        self._buckets[user_id] = (tokens, now, True)
        return "drop" if warned else "warn"

    def _forget_full(self, now: float) -> None:
        """Drop users whose bucket has refilled: they are back to the start state anyway."""
        self._buckets = {user: (tokens, at, warned) for user, (tokens, at, warned) in self._buckets.items()
                         if tokens + (now - at) * self.rate < self.burst}


class UpdateRouter:
    """Turns updates into actions: the allow-lists, group rules, edit rule and rate limit live here."""

    def __init__(self, settings: TelegramSettings, channel: str, bot_id: int, bot_username: str) -> None:
        self.settings = settings
        self.channel = channel
        self.bot_id = bot_id
        self.mention = "@" + bot_username.lower()
        self.limits = UserRateLimit(settings.user_rate, settings.user_burst)

    def route(self, update: Update) -> Action:
        if update.callback_query is not None:
            return self._press(update.callback_query)
        msg = update.message or update.edited_message
        if msg is None:
            return Skip("update type not handled")
        if msg.chat is None:  # malformed: Telegram always sends the chat (found by the fuzzer)
            return Skip("message without a chat")
        if (why := self._refused(msg.chat.id, msg.from_user.id if msg.from_user else None)) is not None:
            return Skip(why)
        if update.edited_message is not None and (why := self._edit_refused(msg)) is not None:
            return Skip(why)
        group = msg.chat.type in GROUP_TYPES
        if group and not self._addressed(msg):
            return Skip("group message not addressed to the bot")
        if msg.text is None:
            if msg.effective_attachment is None:
                return Skip("service message")
            return Answer(self._target(msg, group), self.settings.non_text_reply)
        limit = self.limits.take(sender_of(msg))
        if limit != "ok":
            return Answer(self._target(msg, group), self.settings.rate_limited_reply) if limit == "warn" \
                else Skip("rate limited")
        if _command(msg.text) == "feedback":
            from .feedback import EXPLANATION

            return Answer(self._target(msg, group), EXPLANATION)
        return Submit(self._message(update, msg, group))

    def _refused(self, chat_id: int, user_id: int | None) -> str | None:
        if self.settings.allowed_chats and chat_id not in self.settings.allowed_chats:
            return "chat not in allowed_chats"
        if self.settings.allowed_users and user_id not in self.settings.allowed_users:
            return "user not in allowed_users"
        return None

    def _edit_refused(self, msg: TgMessage) -> str | None:
        if self.settings.edited_messages == "ignore":
            return "edited messages are ignored"
        late = msg.edit_date is not None and (msg.edit_date - msg.date).total_seconds()
        if late and late > self.settings.edit_window:
            return "edited after edit_window"
        return None

    def _press(self, query: CallbackQuery) -> Action:
        if query.message is None:  # our keyboards sit under messages in a chat; inline ones are not ours
            return Skip("button press without a message")
        why = self._refused(query.message.chat.id, query.from_user.id)
        if why:
            return Skip(why)
        if self.limits.take(query.from_user.id) != "ok":  # presses count with messages
            return Skip("rate limited")
        return Press(query)

    def _addressed(self, msg: TgMessage) -> bool:
        """In groups the bot answers commands for it, @mentions of it and replies to it."""
        reply = msg.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == self.bot_id:
            return True
        try:
            entities = msg.parse_entities() | msg.parse_caption_entities()
        except UnicodeError:  # an entity splitting a surrogate pair, or a lone surrogate: read the words
            return self._addressed_in_words(msg.text or msg.caption or "")
        for entity, value in entities.items():
            if entity.type == MessageEntity.MENTION and value.lower() == self.mention:
                return True
            if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == self.bot_id:
                return True
            if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
                _, _, to = value.partition("@")
                return not to or "@" + to.lower() == self.mention
        return False

    def _addressed_in_words(self, text: str) -> bool:
        words = text.lower().split()
        if words and words[0].startswith("/"):
            _, _, to = words[0].partition("@")
            return not to or "@" + to == self.mention
        return self.mention in words

    def _message(self, update: Update, msg: TgMessage, group: bool) -> Message:
        text = msg.text or ""
        if group:  # "@bot what's up" reaches the core as "what's up"
            stripped = " ".join(w for w in text.split() if w.lower() != self.mention)
            text = stripped or text
        thread = msg.message_thread_id if msg.is_topic_message else None
        meta: dict[str, Any] = {
            "chat_id": msg.chat.id, "message_id": msg.message_id, "chat_type": msg.chat.type,
            "thread_id": thread, "edited": update.edited_message is not None,
        }
        return Message(
            channel=self.channel, conversation_id=f"{msg.chat.id}:{thread}" if thread else str(msg.chat.id),
            user_id=str(sender_of(msg)), text=text,
            external_id=str(update.update_id), meta=meta,
        )

    @staticmethod
    def _target(msg: TgMessage, group: bool) -> Target:
        thread = msg.message_thread_id if msg.is_topic_message else None
        return Target(msg.chat.id, thread, msg.message_id if group else None)


def sender_of(msg: TgMessage) -> int:
    """Who wrote a message, as Interplay keys people (for /forget, /optout, limits and admins).

    An anonymous group admin or a channel post comes `from` one of Telegram's shared placeholder
    accounts (GroupAnonymousBot, Channel_Bot), the same for every group: the chat it speaks for
    (`sender_chat`) is the only identity that is not shared with strangers.
    """
    if msg.sender_chat is not None:
        return int(msg.sender_chat.id)
    return int(msg.from_user.id) if msg.from_user else int(msg.chat.id)


def target_of(message: Message) -> Target:
    """Where the reply to a core message goes (groups and edits quote the question)."""
    meta = message.meta
    quote = meta.get("chat_type") in GROUP_TYPES or bool(meta.get("edited"))
    return Target(int(meta["chat_id"]), meta.get("thread_id"), meta.get("message_id") if quote else None)


def _command(text: str) -> str | None:
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()
