"""Playing Slack's part in tests and benchmarks: a running bot, signed Events API and interactivity requests.

# with SLACK_SIGNING_SECRET=TEST_SECRET and SLACK_BOT_TOKEN=TEST_TOKEN in the environment
async with FakeSlackAPI(token=TEST_TOKEN) as fake, run_slack_bot(fake) as rig:
    status, _ = await rig.sender.post_event(mention("C1", "hello"))
    await wait_for(lambda: fake.calls_to("chat.postMessage"))
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from interplay.core.store import ConversationStore
from interplay.testing import TestBot, run_bot

from ..channel import SlackChannel
from ..signature import signed_headers
from .fake_api import BOT_USER_ID, FakeSlackAPI

TEST_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example signing secret
TEST_TOKEN = "xoxb-test-token"
_ids = itertools.count(1)


def next_ts() -> str:
    """A fresh Slack-style message timestamp (microseconds, so separate processes rarely collide)."""
    return f"{time.time() + next(_ids) * 1e-6:.6f}"


def new_event_id() -> str:
    """A fresh, globally unique Events API event id."""
    return "Ev" + uuid.uuid4().hex[:12].upper()


def envelope(
    event: dict[str, Any], event_id: str | None = None, bot_user_id: str = BOT_USER_ID
) -> dict[str, Any]:
    """An `event_callback` envelope around one event, as Slack sends it."""
    return {
        "token": "verification-token-unused",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event": event,
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": bot_user_id, "is_bot": True}],
    }


def mention(
    channel: str,
    text: str,
    *,
    user: str = "U1",
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """An `app_mention` in a channel: "<@BOT> text"."""
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{bot_user_id}> {text}",
        "ts": ts or next_ts(),
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return envelope(event, event_id, bot_user_id)


def direct_message(
    channel: str,
    text: str,
    *,
    user: str = "U1",
    ts: str | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `message.im` event (a direct message to the bot); `extra` adds fields such as subtype or bot_id."""
    event = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts or next_ts(),
        "channel": channel,
        **extra,
    }
    return envelope(event, event_id)


def reaction(
    channel: str,
    ts: str,
    name: str = "+1",
    *,
    user: str = "U1",
    item_user: str = BOT_USER_ID,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `reaction_added` on the message at (channel, ts)."""
    event = {
        "type": "reaction_added",
        "user": user,
        "reaction": name,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": next_ts(),
    }
    return envelope(event, event_id)


def button_click(
    reply_id: str, good: bool, *, user: str = "U1", channel: str = "C1", thread_ts: str | None = None
) -> dict[str, Any]:
    """A `block_actions` payload for a press of one of the bot's feedback buttons."""
    action = "interplay_feedback_good" if good else "interplay_feedback_bad"
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "container": {"type": "message", "channel_id": channel, "message_ts": thread_ts},
        "channel": {"id": channel},
        "message": {"thread_ts": thread_ts},
        "actions": [
            {"type": "button", "action_id": action, "block_id": "interplay_feedback", "value": reply_id},
        ],
    }


class SlackEventSender:
    """Posts correctly (or deliberately wrongly) signed requests to a running Slack channel."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        events_path: str = "/slack/events",
        interactions_path: str = "/slack/interactions",
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.events_path = events_path
        self.interactions_path = interactions_path
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SlackEventSender:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def post_event(
        self, payload: dict[str, Any], *, retry_num: int | None = None, **kw: Any
    ) -> tuple[int, str]:
        """POST an Events API payload; `retry_num` marks it as Slack's n-th retry."""
        headers = {"Content-Type": "application/json"}
        if retry_num:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(self.events_path, json.dumps(payload).encode(), headers, **kw)

    async def post_interaction(self, payload: dict[str, Any], **kw: Any) -> tuple[int, str]:
        """POST an interactivity payload (form-encoded `payload=<json>`, as Slack does)."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(
            self.interactions_path, body, {"Content-Type": "application/x-www-form-urlencoded"}, **kw
        )

    async def post(
        self,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        secret: str | None = None,
        timestamp: float | None = None,
        signed: bool = True,
    ) -> tuple[int, str]:
        """POST raw bytes; `secret`/`timestamp` forge a wrong or stale signature, `signed=False` omits it."""
        assert self._session is not None, "use `async with SlackEventSender(...)`"
        all_headers = dict(headers)
        if signed:
            all_headers |= signed_headers(self.secret if secret is None else secret, body, timestamp)
        async with self._session.post(self.base_url + path, data=body, headers=all_headers) as response:
            return response.status, await response.text()


@dataclass
class SlackRig:
    """A running bot with the slack channel, the fake Web API it talks to, and a request sender."""

    bot: TestBot
    channel: SlackChannel
    fake: FakeSlackAPI
    sender: SlackEventSender

    @property
    def store(self) -> ConversationStore:
        return self.bot.store


@asynccontextmanager
async def run_slack_bot(
    fake: FakeSlackAPI,
    *,
    store: ConversationStore | None = None,
    echo_settings: dict[str, Any] | None = None,
    bus: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    secret: str = TEST_SECRET,
    **slack_settings: Any,
) -> AsyncIterator[SlackRig]:
    """Start a bot (echo generator) whose slack channel listens on a free port and talks to `fake`.

    The secrets come from SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN as in production; set them first.
    """
    from interplay.plugins import slack as slack_plugin  # with echo only: others may be slow to import

    settings = {"port": 0, "api_base_url": fake.base_url, "stream_interval": 0.05, **slack_settings}
    config: dict[str, Any] = {"pipeline": {"channels": ["slack"]}, "bus": bus or {}}
    if limits is not None:  # else run_bot's: no rate limit
        config["limits"] = limits
    async with run_bot(
        slack_plugin,
        config=config,
        settings={"slack": settings, "echo": echo_settings or {}},
        store=store,
        installed=False,
    ) as bot:
        channel = bot.bot.channels.get("slack")
        if not isinstance(channel, SlackChannel):
            raise RuntimeError(f"the slack channel did not start: {bot.bot.status.get('slack')}")
        async with SlackEventSender(channel.url, secret) as sender:
            yield SlackRig(bot, channel, fake, sender)


async def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll until `predicate()` is true; TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the conditions live in fakes that set no events
            await asyncio.sleep(0.01)
