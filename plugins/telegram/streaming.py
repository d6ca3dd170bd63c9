"""Showing a reply while it is generated: send once, then edit, throttled; typing meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from telegram import InlineKeyboardMarkup

from .outbound import TelegramSender
from .splitting import split_text

TYPING_DELAY = 0.3  # a reply faster than this needs no bubble: it would double the requests


@dataclass
class Target:
    """Where a reply goes: the chat, the forum topic, and the message it answers."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None


@dataclass
class _Part:
    message_id: int
    text: str
    has_markup: bool = False


@dataclass
class ReplyWriter:
    """Mirrors a growing text into one or more Telegram messages, at most one edit per interval.

    A background task does the network work so that generation never waits for Telegram;
    a reply produced faster than the interval goes out as one sendMessage and nothing else.
    """

    sender: TelegramSender
    target: Target
    interval: float
    parts: list[_Part] = field(default_factory=list)
    _text: str = ""
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def first_message_id(self) -> int | None:
        return self.parts[0].message_id if self.parts else None

    def update(self, text: str) -> None:
        """The reply so far; raises what stopped the background sender, if anything did."""
        if self._task is not None and self._task.done() and self._task.exception() is not None:
            raise self._task.exception()  # type: ignore[misc]
        self._text = text
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._changed.wait()
            if self._closing.is_set():
                return
            self._changed.clear()
            await self.show(self._text)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.interval)

    async def finish(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Show the final text (and the keyboard) once the in-flight request is done."""
        self._closing.set()
        self._changed.set()
        if self._task is not None:
            await self._task  # never cancelled mid-request: a lost sendMessage answer means a duplicate
        await self.show(text, markup)

    async def close(self) -> None:
        """Stop the background sender (after a failure); waits for its request to end."""
        self._closing.set()
        self._changed.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def show(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Make the messages read `text`: edit parts that changed, send parts that are new."""
        chunks = split_text(text)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            keyboard = markup if last else None
            if i >= len(self.parts):
                await self._send(chunk, keyboard, first=i == 0)
            elif self.parts[i].text != chunk or self.parts[i].has_markup != (keyboard is not None):
                await self.sender.edit_message(self.target.chat_id, self.parts[i].message_id, chunk, keyboard)
                self.parts[i] = _Part(self.parts[i].message_id, chunk, keyboard is not None)

    async def _send(self, chunk: str, markup: InlineKeyboardMarkup | None, *, first: bool) -> None:
        sent = await self.sender.send_message(
            self.target.chat_id, chunk, reply_to=self.target.reply_to if first else None,
            thread_id=self.target.thread_id, markup=markup,
        )
        self.parts.append(_Part(sent.message_id, chunk, markup is not None))


@contextlib.asynccontextmanager
async def typing(sender: TelegramSender, target: Target, interval: float) -> AsyncIterator[None]:
    """Keep the "typing…" bubble up while the body runs (Telegram clears it after ~5 s)."""
    async def repeat() -> None:
        await asyncio.sleep(TYPING_DELAY)
        while True:
            await sender.chat_action(target.chat_id, target.thread_id)
            await asyncio.sleep(interval)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
