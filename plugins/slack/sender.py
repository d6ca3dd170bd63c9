"""Posting a streamed reply: chat.postMessage once, then throttled chat.update calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .events import escape

log = logging.getLogger("interplay.slack")
GOOD_ACTION = "interplay_feedback_good"
BAD_ACTION = "interplay_feedback_bad"
FEEDBACK_BLOCK = "interplay_feedback"
MAX_TEXT = 39_000  # Slack truncates message text past 40,000 characters
SECTION_LIMIT = 3_000  # a section block holds at most 3,000 characters
EMPTY = "…"  # Slack rejects an empty message


def slack_text(text: str) -> str:
    """Escaped text within Slack's length limit (never cut inside an `&amp;`-style entity)."""
    body = escape(text)
    return body[: _cut(body, 0, MAX_TEXT)] or EMPTY


def _cut(body: str, start: int, limit: int) -> int:
    """Where a piece of `body` starting at `start` may end: at most `limit` long, not inside an entity."""
    end = min(start + limit, len(body))
    amp = body.rfind("&", start, end)
    if end < len(body) and amp > start and ";" not in body[amp:end]:
        return amp
    return end


def reply_blocks(text: str, reply_id: str) -> list[dict[str, Any]]:
    """The final message: the text in sections, then the 👍 / 👎 buttons carrying the reply id."""
    body = slack_text(text)
    sections: list[dict[str, Any]] = []
    start = 0
    while start < len(body):
        end = _cut(body, start, SECTION_LIMIT)
        sections.append({"type": "section", "text": {"type": "mrkdwn", "text": body[start:end]}})
        start = end
    buttons = [_button("👍", GOOD_ACTION, reply_id), _button("👎", BAD_ACTION, reply_id)]
    return [*sections, {"type": "actions", "block_id": FEEDBACK_BLOCK, "elements": buttons}]


def _button(label: str, action_id: str, reply_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": reply_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
    }


class StreamingMessage:
    """One reply in one thread. `feed()` the text so far; `finish()` posts the final version.

    The first text is posted at once; later text goes out by chat.update at most once per
    `interval`, always the newest version, so a slow or rate-limited API never queues edits.
    A request in flight is never cancelled: cancelling a chat.postMessage that Slack already
    received would make us post the reply twice.
    """

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None, interval: float) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.interval = interval
        self.ts: str | None = None
        self.calls = 0
        self._text = ""
        self._shown: str | None = None
        self._changed = asyncio.Event()
        self._pacer: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[None] | None = None

    def feed(self, text: str) -> None:
        """The reply's text so far."""
        self._text = text
        self._changed.set()
        if self._pacer is None and self.interval > 0:
            self._pacer = asyncio.create_task(self._pace())

    async def _pace(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            self._inflight = asyncio.ensure_future(self._show(self._text))
            try:
                await asyncio.shield(self._inflight)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("interim update of a reply failed (%s); the final text will follow", _why(exc))
            await asyncio.sleep(self.interval)

    async def finish(self, text: str, blocks: list[dict[str, Any]] | None) -> str:
        """Stop the interim updates and show the final text (and buttons); returns the message ts."""
        await self.close()
        if self._inflight is not None and not self._inflight.done():
            with contextlib.suppress(SlackApiError, aiohttp.ClientError, TimeoutError):
                await self._inflight  # let a post in flight land, so its ts is known
        await self._show(text, blocks)
        assert self.ts is not None
        return self.ts

    async def close(self) -> None:
        """Stop the pacer (also when the reply is abandoned)."""
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
            self._pacer = None
        if self._inflight is not None and not self._inflight.done():
            self._inflight.add_done_callback(_quiet)  # an abandoned edit's failure needs no report

    async def _show(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        body = slack_text(text)
        if body == self._shown and blocks is None:
            return
        self.calls += 1
        if self.ts is None:
            response = await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                text=body,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            self.ts = str(response["ts"])
        else:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=body, blocks=blocks)
        self._shown = body


def _why(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return f"Slack error {exc.response.get('error', exc.response.status_code)}"
    return type(exc).__name__


def _quiet(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
