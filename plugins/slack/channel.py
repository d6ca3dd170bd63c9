"""The `slack` channel: Events API in, threaded streamed replies out, feedback from buttons and reactions.

Acknowledgement guarantee: Slack gets its 200 only once the message is durably stored by
`inbox.submit` (or was stored before: a duplicate). If storing takes longer than `ack_timeout`
(the bus is full) or the bot is shutting down, Slack gets a 503 and retries; the store's
dedupe on event_id makes every retry either the first delivery or a no-op, so each event is
answered at most once and is lost only if all of Slack's retries fail.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import aiohttp
from aiohttp import web
from interplay.core import (
    Channel,
    ConfigError,
    Inbox,
    InterplayError,
    Message,
    PluginError,
    PluginSettings,
    Reply,
    ReplyStream,
    SecretRef,
    Submitted,
    resolve_secret,
)
from interplay.core.errors import transient
from pydantic import Field
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .events import Incoming, Reaction, decide
from .feedback import ButtonClick, FeedbackRecorder, message_key, read_button_click
from .sender import StreamingMessage, reply_blocks
from .server import WebhookServer, ok
from .signature import SlackSignatureVerifier
from .web_api import DEFAULT_BASE_URL, bot_user_id, build_client

log = logging.getLogger("interplay.slack")


class SlackSettings(PluginSettings):
    """The `[plugins.slack]` table."""

    signing_secret: SecretRef = "$env:SLACK_SIGNING_SECRET"
    bot_token: SecretRef = "$env:SLACK_BOT_TOKEN"
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)
    events_path: str = "/slack/events"
    interactions_path: str = "/slack/interactions"
    max_body_bytes: int = Field(1_000_000, ge=1024)
    timestamp_tolerance: float = Field(300.0, gt=0)
    ack_timeout: float = Field(2.0, gt=0, lt=3)
    api_base_url: str = DEFAULT_BASE_URL
    api_timeout: float = Field(10.0, gt=0)
    max_rate_limit_retries: int = Field(3, ge=0)
    max_retry_wait: float = Field(30.0, ge=0)
    stream_interval: float = Field(1.0, ge=0)
    feedback_buttons: bool = True
    feedback_thanks: bool = True


class SlackChannel(Channel[SlackSettings]):
    """Answers @-mentions in threads and direct messages through the Slack Web API."""

    name = "slack"
    Settings = SlackSettings

    def __init__(self, settings: SlackSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.client: AsyncWebClient | None = None
        self.server: WebhookServer | None = None
        self.bot_user_id: str | None = None
        self.port: int | None = None
        self.inbox: Inbox | None = None
        self.recorder: FeedbackRecorder | None = None
        self.delivered_count = 0
        self._session: aiohttp.ClientSession | None = None
        self._submitting: dict[str, asyncio.Task[Submitted]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """Base URL of the running endpoints, e.g. http://127.0.0.1:3000."""
        return f"http://{self.settings.host}:{self.port}"

    async def start(self) -> None:
        signing_secret = _secret(self.settings.signing_secret, "the Slack signing secret")
        token = _secret(self.settings.bot_token, "the Slack bot token")
        timeout = aiohttp.ClientTimeout(total=self.settings.api_timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self.client = build_client(
            token,
            self.settings.api_base_url,
            self._session,
            max_retries=self.settings.max_rate_limit_retries,
            max_wait=self.settings.max_retry_wait,
        )
        self.bot_user_id = await bot_user_id(self.client)
        verifier = SlackSignatureVerifier(signing_secret, self.settings.timestamp_tolerance)
        s = self.settings
        self.server = WebhookServer(
            verifier,
            self._on_event,
            self._on_interaction,
            events_path=s.events_path,
            interactions_path=s.interactions_path,
            max_body_bytes=s.max_body_bytes,
        )

    async def open(self, inbox: Inbox) -> None:
        assert self.server is not None, "start() first"
        self.inbox = inbox
        self.recorder = FeedbackRecorder(self.context.store, inbox)
        try:
            self.port = await self.server.start(self.settings.host, self.settings.port)
        except OSError as exc:
            raise PluginError(
                f"cannot listen on {self.settings.host}:{self.settings.port} ({exc.strerror}): "
                "choose another plugins.slack.port"
            ) from None

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        if self._session is not None:
            await self._session.close()

    # -- inbound ---------------------------------------------------------------------------
    async def _on_event(self, envelope: dict[str, Any], request: web.Request) -> web.Response:
        decision = decide(envelope, self.bot_user_id)
        retry = request.headers.get("X-Slack-Retry-Num")
        if isinstance(decision, Incoming):
            return await self._accept(decision, retry)
        if isinstance(decision, Reaction):
            assert self.recorder is not None
            if await self.recorder.reaction(decision):
                log.info("stored %+.0f reaction feedback from %s", decision.score, decision.user)
            return ok()
        log.debug("event %s ignored: %s", envelope.get("event_id"), decision.reason)
        return ok()

    async def _accept(self, incoming: Incoming, retry: str | None) -> web.Response:
        """Store the message, then acknowledge; past `ack_timeout` the store keeps going and Slack retries."""
        task = self._submitting.get(incoming.event_id)
        if task is None:
            task = self._spawn(self._submit(incoming))
            self._submitting[incoming.event_id] = task
            task.add_done_callback(functools.partial(self._stored, incoming.event_id))
        try:
            async with asyncio.timeout(self.settings.ack_timeout):
                outcome = await asyncio.shield(task)
        except TimeoutError:
            log.warning(
                "event %s not stored within %.1fs: 503 so that Slack retries (it stays queued here)",
                incoming.event_id,
                self.settings.ack_timeout,
            )
            return web.Response(status=503, text="busy: retry later")
        except Exception as exc:
            if not (isinstance(exc, InterplayError) or transient(exc)):
                raise  # a bug: aiohttp logs it and answers 500 (Slack retries that too)
            # BusClosed during shutdown, a store or Redis outage: not stored, Slack must send it again
            log.warning("event %s not accepted (%s: %s): 503 so that Slack retries",
                        incoming.event_id, type(exc).__name__, exc)
            return web.Response(status=503, text="unavailable: retry later")
        log.info("event %s%s: %s", incoming.event_id, f" (retry {retry})" if retry else "", outcome.value)
        return ok()

    def _stored(self, event_id: str, _task: asyncio.Task[Submitted]) -> None:
        self._submitting.pop(event_id, None)  # from now on the store's dedupe answers for this event

    async def _submit(self, incoming: Incoming) -> Submitted:
        assert self.inbox is not None
        message = Message(
            channel=self.name,
            conversation_id=incoming.conversation_id,
            user_id=incoming.person,
            text=incoming.text,
            external_id=incoming.event_id,
            meta={
                "channel": incoming.channel,
                "thread_ts": incoming.thread_ts,
                "ts": incoming.ts,
                "team": incoming.team,
            },
        )
        return await self.inbox.submit(message)

    async def _on_interaction(self, payload: dict[str, Any]) -> web.Response:
        click = read_button_click(payload)
        if click is None:
            log.debug("interaction of type %r ignored", payload.get("type"))
            return ok()
        assert self.recorder is not None
        reply = await self.recorder.click(click)
        if reply is not None:
            log.info("stored %+.0f button feedback from %s", click.score, click.user)
            if self.settings.feedback_thanks:
                self._spawn(self._thank(click))
        return ok()

    async def _thank(self, click: ButtonClick) -> None:
        assert self.client is not None
        try:
            await self.client.chat_postEphemeral(
                channel=click.channel,
                user=click.user,
                thread_ts=click.thread_ts,
                text="Thanks for the feedback.",
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("could not thank %s for feedback: %s", click.user, type(exc).__name__)

    # -- outbound --------------------------------------------------------------------------
    async def send(self, reply: ReplyStream) -> None:
        assert self.client is not None, "start() first"
        meta = reply.message.meta
        message = StreamingMessage(
            self.client, meta["channel"], meta.get("thread_ts"), self.settings.stream_interval
        )
        try:
            async for _ in reply:
                message.feed(reply.text)
            rateable = self.settings.feedback_buttons and reply.source.rated  # the core's one rule
            blocks = reply_blocks(reply.text, reply.id) if rateable else None
            await message.finish(reply.text, blocks)
        finally:
            await message.close()
            reply.external_id = message_key(meta["channel"], message.ts) if message.ts else None

    async def delivered(self, message: Message, reply: Reply) -> None:
        self.delivered_count += 1

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not isinstance(exc, InterplayError) and not transient(exc):
            log.error("background task failed", exc_info=exc)  # a bug: keep the traceback


def _secret(ref: str, what: str) -> str:
    try:
        return resolve_secret(ref, what)
    except ConfigError as exc:
        raise PluginError(f"plugin 'slack': {exc}") from None
