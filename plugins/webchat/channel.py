"""`WebchatChannel`: routes each reply to the browsers showing its conversation and to the API call
that asked for it, delta by delta; the end of a reply goes out once the store has it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web
from interplay.core import (
    Channel,
    Inbox,
    Message,
    PluginSettings,
    Reply,
    ReplySource,
    ReplyStream,
    resolve_secret,
)

from .auth import SessionSigner
from .settings import WebchatSettings

log = logging.getLogger("interplay.webchat")
SEND_TIMEOUT = 5.0  # seconds one browser may take to take a frame before it is dropped


@dataclass
class Waiter:
    """An API call waiting for the reply to its message: ("delta", text) items, then ("end", Reply)."""

    items: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)


def reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "text": reply.text,
        "source": reply.source,
        "model_version": reply.model_version,
        "rateable": ReplySource.parse(reply.source).rated,  # the core's one rule for rating buttons
    }


class WebchatChannel(Channel):
    """A web page and an HTTP API on one aiohttp server (see server.py for the routes)."""

    name = "webchat"
    Settings: ClassVar[type[PluginSettings]] = WebchatSettings
    settings: WebchatSettings

    def __init__(self, settings: PluginSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.inbox: Inbox | None = None
        self.signer: SessionSigner | None = None
        self.api_token = ""
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}  # conversation id -> open pages
        self.waiters: dict[str, Waiter] = {}  # message id -> the API call waiting for its reply
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        s = self.settings
        self.signer = SessionSigner(resolve_secret(s.secret, "the webchat secret ([plugins.webchat] secret)"))
        if s.api_token:
            self.api_token = resolve_secret(
                s.api_token, "the webchat API token ([plugins.webchat] api_token)"
            )

    async def open(self, inbox: Inbox) -> None:
        from .server import build_app

        self.inbox = inbox
        limits = getattr(self.context.config, "limits", None)
        app = build_app(self, max_body=getattr(limits, "max_request_bytes", 1 << 20))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.settings.port).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.settings.host}:{port}"
        log.info("web chat at %s/ (API %s)", self.url, "on" if self.api_token else "off")

    async def stop(self) -> None:
        for sockets in list(self.sockets.values()):
            for ws in list(sockets):
                await ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- outbound ------------------------------------------------------------------------------
    async def send(self, reply: ReplyStream) -> None:
        message = reply.message
        waiter = self.waiters.get(message.id)
        start = {
            "type": "start",
            "reply_id": reply.id,
            "in_reply_to": message.meta.get("client_id"),
            "source": reply.source,
        }
        await self.broadcast(message.conversation_id, start)
        async for delta in reply:
            if waiter is not None:
                waiter.items.put_nowait(("delta", delta))
            await self.broadcast(
                message.conversation_id, {"type": "delta", "reply_id": reply.id, "text": delta}
            )

    async def delivered(self, message: Message, reply: Reply) -> None:
        event = {"type": "end", "in_reply_to": message.meta.get("client_id"), **reply_json(reply)}
        event["reply_id"] = event.pop("id")
        await self.broadcast(message.conversation_id, event)
        waiter = self.waiters.get(message.id)
        if waiter is not None:
            waiter.items.put_nowait(("end", reply))

    async def broadcast(self, conversation_id: str, event: dict[str, Any], *, skip: Any = None) -> None:
        """Send one event to every page showing the conversation; a stalled or closed page is dropped."""
        for ws in list(self.sockets.get(conversation_id, ())):
            if ws is skip:
                continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await ws.send_json(event)
            except (ConnectionError, TimeoutError, RuntimeError):
                self.forget_socket(conversation_id, ws)

    def add_socket(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        self.sockets.setdefault(conversation_id, set()).add(ws)

    def forget_socket(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self.sockets.get(conversation_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self.sockets[conversation_id]
