"""Outbound requests to the Bot API: retries with backoff, 429s honoured, permanent errors reported once."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from interplay.core import PluginError
from interplay.core import Undeliverable as CoreUndeliverable
from telegram import InlineKeyboardMarkup
from telegram import Message as TgMessage
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from .settings import TelegramSettings

log = logging.getLogger("interplay.telegram")
T = TypeVar("T")

# Failures after which the request may have reached Telegram: a message must not be sent twice.
_MAYBE_DELIVERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
_EXPECTED = ("message is not modified", "can't parse entities")


class Undeliverable(CoreUndeliverable):
    """Telegram refused the request for good (bot blocked, chat not found): not retried."""


class SendFailed(PluginError):
    """A transient failure outlasted the retries, or a retry could have sent a message twice."""


def retry_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 may give an int or a timedelta)."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def maybe_delivered(exc: NetworkError) -> bool:
    """True when the request may have been processed although no answer came back."""
    return isinstance(exc.__cause__, _MAYBE_DELIVERED)


class TelegramSender:
    """Wraps each Bot API call in the channel's retry policy."""

    def __init__(self, bot: Any, settings: TelegramSettings, redact: Callable[[str], str]) -> None:
        self.bot = bot
        self.settings = settings
        self.redact = redact
        self._reported: set[tuple[object, str]] = set()
        # Waiting here is cheaper than in httpcore's queue, which it rescans on every response.
        self._slots = asyncio.Semaphore(settings.connection_pool_size)

    async def call(self, what: str, chat_id: object, request: Callable[[], Awaitable[T]], *,
                   idempotent: bool = True) -> T:
        """Run `request`, retrying transient failures; raise Undeliverable or SendFailed."""
        attempt = 0
        while True:
            try:
                async with self._slots:
                    return await request()
            except RetryAfter as exc:
                delay = retry_seconds(exc)
                why = f"rate limited by Telegram for {delay:.1f}s"
            except (Forbidden, InvalidToken, ChatMigrated) as exc:
                raise self._permanent(what, chat_id, exc) from None
            except BadRequest as exc:  # a subclass of NetworkError: check it first
                if any(quiet in str(exc).lower() for quiet in _EXPECTED):
                    raise Undeliverable(str(exc)) from None  # the caller handles these
                raise self._permanent(what, chat_id, exc) from None
            except NetworkError as exc:  # 5xx, connection errors, timeouts
                if not idempotent and maybe_delivered(exc):
                    raise SendFailed(f"{what} to chat {chat_id} got no answer and may have gone out; "
                                     f"not resent ({self.redact(str(exc))})") from None
                delay = self._backoff(attempt)
                why = self.redact(str(exc)) or type(exc).__name__
            attempt += 1
            if attempt > self.settings.max_retries:
                raise SendFailed(f"{what} to chat {chat_id} failed after {attempt} attempts: {why}")
            log.info("%s to chat %s: %s; retry %d in %.2fs", what, chat_id, why, attempt, delay)
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return delay * random.uniform(0.5, 1.0)  # jitter: chats that failed together retry apart

    def _permanent(self, what: str, chat_id: object, exc: Exception) -> Undeliverable:
        reason = self.redact(str(exc))
        key = (chat_id, type(exc).__name__)
        if key not in self._reported:  # once per chat and kind: a blocked bot must not flood the log
            self._reported.add(key)
            log.warning("%s to chat %s refused by Telegram, not retried: %s", what, chat_id, reason)
        else:
            log.debug("%s to chat %s refused again: %s", what, chat_id, reason)
        return Undeliverable(f"Telegram refused {what} to chat {chat_id}: {reason}")

    def forgive(self, chat_id: object) -> None:
        """The chat wrote to us again: report its next refusal afresh."""
        self._reported = {k for k in self._reported if k[0] != chat_id}

    # -- the few calls the channel makes -----------------------------------------------------
    async def send_message(self, chat_id: int, text: str, *, reply_to: int | None = None,
                           thread_id: int | None = None,
                           markup: InlineKeyboardMarkup | None = None) -> TgMessage:
        """sendMessage, with the configured parse mode and plain text if entities fail to parse."""
        async def request(parse_mode: str | None) -> TgMessage:
            return await self.bot.send_message(
                chat_id, text, parse_mode=parse_mode, reply_markup=markup, message_thread_id=thread_id,
                reply_parameters=_reply_to(reply_to),
            )
        return await self._with_parse_fallback("sendMessage", chat_id, request, idempotent=False)

    async def edit_message(self, chat_id: int, message_id: int, text: str,
                           markup: InlineKeyboardMarkup | None = None) -> None:
        """editMessageText; "message is not modified" counts as done."""
        async def request(parse_mode: str | None) -> object:
            return await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=parse_mode, reply_markup=markup,
            )
        try:
            await self._with_parse_fallback("editMessageText", chat_id, request, idempotent=True)
        except Undeliverable as exc:
            if "not modified" not in str(exc):
                raise

    async def _with_parse_fallback(self, what: str, chat_id: int,
                                   request: Callable[[str | None], Awaitable[T]], *, idempotent: bool) -> T:
        mode = self.settings.parse_mode or None
        try:
            return await self.call(what, chat_id, lambda: request(mode), idempotent=idempotent)
        except Undeliverable as exc:
            if mode is None or "can't parse entities" not in str(exc).lower():
                raise
        # Half-streamed markup rarely parses: plain text always does.
        return await self.call(what, chat_id, lambda: request(None), idempotent=idempotent)

    async def chat_action(self, chat_id: int, thread_id: int | None = None) -> None:
        """sendChatAction "typing": cosmetic, so one attempt and no retries."""
        try:
            async with self._slots:
                await self.bot.send_chat_action(chat_id, "typing", message_thread_id=thread_id)
        except Exception as exc:
            log.debug("typing action for chat %s failed: %s", chat_id, self.redact(str(exc)))


def _reply_to(message_id: int | None) -> Any:
    if message_id is None:
        return None
    from telegram import ReplyParameters

    # allow_sending_without_reply: the question may have been deleted meanwhile.
    return ReplyParameters(message_id, allow_sending_without_reply=True)
