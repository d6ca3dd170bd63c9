"""Admission limits applied before a message enters the pipeline: its size and each user's rate."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .config import LimitsSettings
from .messages import Message

log = logging.getLogger("interplay.limits")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_TRACKED_SENDERS = 10_000  # past this, idle buckets are dropped so memory stays bounded


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class TokenBucket:
    """Per-key token buckets: `burst` messages at once, refilled at `per_minute` a minute."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: tuple[str, str]) -> _Bucket | None:
        """Spend one token for `key`; None when allowed, else the (empty) bucket."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_SENDERS:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return None
        return bucket

    def _prune(self, now: float) -> None:
        """Forget senders whose bucket has refilled: they are indistinguishable from new ones."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_TRACKED_SENDERS:  # all busy at once: keep the newest half
            for key in list(self._buckets)[: MAX_TRACKED_SENDERS // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def valid_text(message: Message) -> Message:
    """The message with lone surrogates (from JSON escapes, odd stdin) replaced by U+FFFD.

    UTF-8 stores and tokenizers reject them, so one bad character would otherwise fail `submit()`.
    """
    fields = (message.text, message.user_id, message.conversation_id, message.external_id or "")
    if all(value.isascii() for value in fields):  # the common case costs a scan of each string
        return message
    fixes: dict[str, Any] = {}
    for name in ("text", "user_id", "conversation_id", "external_id"):
        value = getattr(message, name)
        if value and not value.isascii():
            clean = _SURROGATE.sub("\ufffd", value)
            if clean != value:
                fixes[name] = clean
    return replace(message, **fixes) if fixes else message


class AdmissionGate:
    """Decides whether a stored message is processed or answered with a polite refusal."""

    def __init__(self, settings: LimitsSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.bucket = (
            TokenBucket(settings.messages_per_minute, settings.burst, clock)
            if settings.messages_per_minute > 0
            else None
        )

    def refusal(self, message: Message) -> str | None:
        """None to process the message; else the reply to send ("" to stay silent)."""
        if len(message.text) > self.settings.max_message_chars:
            log.info(
                "message of %d characters refused (limit %d)",
                len(message.text),
                self.settings.max_message_chars,
            )
            return self.settings.too_long_reply
        if self.bucket is None or message.channel in self.settings.unlimited_channels:
            return None
        empty = self.bucket.take((message.channel, message.user_id))
        if empty is None:
            return None
        if empty.warned:
            return ""  # one polite reply per burst of excess messages, not one per message
        empty.warned = True
        log.info("user %r on %r is over the rate limit", message.user_id, message.channel)
        return self.settings.rate_limited_reply
