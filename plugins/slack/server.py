"""The HTTP side: an aiohttp app that checks size, signature and JSON before anything is processed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from .signature import SlackSignatureVerifier

log = logging.getLogger("interplay.slack")
EventHandler = Callable[[dict[str, Any], web.Request], Awaitable[web.Response]]
InteractionHandler = Callable[[dict[str, Any]], Awaitable[web.Response]]


def ok() -> web.Response:
    """An empty 200: Slack only needs to know we have it."""
    return web.Response(status=200)


class WebhookServer:
    """Serves the Events API and interactivity endpoints on one host and port."""

    def __init__(
        self,
        verifier: SlackSignatureVerifier,
        on_event: EventHandler,
        on_interaction: InteractionHandler,
        *,
        events_path: str = "/slack/events",
        interactions_path: str = "/slack/interactions",
        max_body_bytes: int = 1_000_000,
        read_timeout: float = 10.0,
    ) -> None:
        self.verifier = verifier
        self.on_event = on_event
        self.on_interaction = on_interaction
        self.events_path = events_path
        self.interactions_path = interactions_path
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.rejected = 0
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The aiohttp application (also usable with aiohttp's test client)."""
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post(self.events_path, self._events)
        app.router.add_post(self.interactions_path, self._interactions)
        return app

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; returns the bound port (useful with port 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        log.info(
            "Slack endpoints listening on http://%s:%d%s and %s",
            host,
            bound,
            self.events_path,
            self.interactions_path,
        )
        return int(bound)

    async def stop(self) -> None:
        """Stop listening; requests in progress get a short grace period."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _authentic_body(self, request: web.Request) -> bytes | web.Response:
        """The raw body if it is within the size limit and correctly signed, else the error response."""
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            why = f"body of {request.content_length} bytes is over max_body_bytes"
            return self._reject(request, 413, why)
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(request, 413, "body is over max_body_bytes")
        except TimeoutError:
            return self._reject(request, 408, "body not received in time")
        verdict = self.verifier.check(request.headers, body)
        if not verdict.ok:
            return self._reject(request, 401, verdict.reason)
        return body

    def _reject(self, request: web.Request, status: int, reason: str) -> web.Response:
        self.rejected += 1
        # Only the reason and the peer: never the body, the signature or the secret.
        log.warning(
            "rejected %s %s from %s with %d: %s", request.method, request.path, request.remote, status, reason
        )
        return web.Response(status=status, text=reason)

    async def _events(self, request: web.Request) -> web.Response:
        body = await self._authentic_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            envelope = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # RecursionError: nested too deep
            return self._reject(request, 400, "body is not valid JSON")
        if not isinstance(envelope, dict):
            return self._reject(request, 400, "body is not a JSON object")
        kind = envelope.get("type")
        if kind == "url_verification":
            return web.json_response({"challenge": str(envelope.get("challenge", ""))})
        if kind == "event_callback":
            return await self.on_event(envelope, request)
        if kind == "app_rate_limited":
            log.warning("Slack is dropping events for this app: over 30,000 events in the last hour")
        else:
            log.info("ignored an Events API request of type %r", kind)
        return ok()

    async def _interactions(self, request: web.Request) -> web.Response:
        body = await self._authentic_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            raw = parse_qs(body.decode(), strict_parsing=True)["payload"][0]
            payload = json.loads(raw)
        except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
            return self._reject(request, 400, "body is not a form with a JSON payload")
        if not isinstance(payload, dict):
            return self._reject(request, 400, "payload is not a JSON object")
        return await self.on_interaction(payload)
