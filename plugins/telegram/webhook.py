"""Webhook mode: an aiohttp endpoint that Telegram posts updates to.

Every request must carry the secret token Telegram was given in setWebhook; anything else is
refused before it is read. The answer is 200 only once the update is stored, so Telegram
re-sends what a crash interrupted.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from interplay.core.bus import BusClosed
from interplay.core.errors import transient
from telegram import Update

from .settings import TelegramSettings

log = logging.getLogger("interplay.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Handle = Callable[[Update], Awaitable[None]]


class ChatLocks:
    """One lock per chat, so that concurrent posts for one chat are stored one after the other."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    async def run(self, key: object, work: Callable[[], Awaitable[None]]) -> None:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await work()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class WebhookServer:
    """Serves `settings.webhook_path` on `webhook_listen:webhook_port`."""

    def __init__(self, bot: Any, handle: Handle, settings: TelegramSettings, secret: str) -> None:
        self.bot = bot
        self.handle = handle
        self.settings = settings
        self.secret = secret
        self.locks = ChatLocks()
        self.refused = 0
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post(self.settings.webhook_path, self.receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_listen, self.settings.webhook_port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr,attr-defined]
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.webhook_port
        log.info("webhook listening on %s:%s%s", self.settings.webhook_listen, self.port,
                 self.settings.webhook_path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram: 403 without the secret, 400 if malformed, 200 once stored."""
        sent = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")  # any bytes: 403
        if not hmac.compare_digest(sent, self.secret.encode()):
            self.refused += 1
            log.warning("webhook request from %s refused: wrong or missing secret token", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            update = self._parse(await request.read())
        except ValueError as exc:
            log.warning("webhook: malformed update refused: %s", exc)
            return web.Response(status=400, text="malformed update")
        chat = update.effective_chat
        try:
            await self.locks.run(chat.id if chat else None, lambda: self.handle(update))
        except BusClosed:
            return web.Response(status=503, text="shutting down")  # Telegram will re-send it
        except Exception as exc:
            if not transient(exc):
                raise  # a bug: aiohttp logs it and answers 500 (Telegram re-sends that too)
            # the store or Redis is away for a moment: not stored, so Telegram must re-send it later
            log.warning("webhook: update %s not stored yet (%s: %s); Telegram will re-send it",
                        update.update_id, type(exc).__name__, exc)
            return web.Response(status=503, text="try again later")
        return web.Response(text="ok")

    def _parse(self, body: bytes) -> Update:
        try:
            data = json.loads(body)
            uid = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(uid, int) or isinstance(uid, bool):  # true is an int to Python, not to Telegram
                raise ValueError("no integer update_id")
            return Update.de_json(data, self.bot)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
