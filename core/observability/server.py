"""The operations HTTP server: `/metrics` (Prometheus), `/healthz` (alive) and `/readyz` (able to answer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..errors import InterplayError
from ..redaction import redact

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from ..bus import BusBackend
    from ..config import PipelineSettings
    from ..state import BotState
    from ..store.base import ConversationStore

log = logging.getLogger("interplay.observability")
STORE_PROBE_TIMEOUT = 2.0  # seconds; a store slower than this is not ready for traffic


class Readiness:
    """What `/readyz` checks, each "ok"/"running" or why not: store, channels, generator, bus."""

    def __init__(
        self, store: ConversationStore, pipeline: PipelineSettings, state: BotState, bus: BusBackend
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.state = state
        self.bus = bus

    async def __call__(self) -> dict[str, str]:
        checks: dict[str, str] = {"store": await _probe_store(self.store)}
        status = self.state.status
        for name in self.pipeline.channels:
            state = status.get(name, "starting")
            # "running" is set when the plugin starts; it takes traffic once its channel is open
            opened = name in self.state.channels or state != "running"
            checks[f"channel:{name}"] = state if opened else "starting"
        if self.pipeline.generator:
            checks[f"generator:{self.pipeline.generator}"] = status.get(self.pipeline.generator, "starting")
        checks["bus"] = "closing" if self.bus.closed else ("ok" if self.state.serving else "starting")
        return {key: redact(value) for key, value in checks.items()}


async def _probe_store(store: ConversationStore) -> str:
    try:
        async with asyncio.timeout(STORE_PROBE_TIMEOUT):
            await store.ping()
    except Exception as exc:  # any failure means "not ready"; the reason is shown, not raised
        return f"failed: {type(exc).__name__}: {exc}"
    return "ok"


def is_ready(checks: dict[str, str]) -> bool:
    return all(value in ("ok", "running") for value in checks.values())


class OperationsServer:
    """aiohttp server bound to `[observability] host:port`, started and stopped with the bot."""

    def __init__(
        self,
        metrics: CollectorRegistry,
        readiness: Callable[[], Awaitable[dict[str, str]]],
        host: str,
        port: int,
        max_request_bytes: int,
    ) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=max_request_bytes)
        self.app.add_routes(
            [
                web.get("/metrics", self._metrics),
                web.get("/healthz", self._healthz),
                web.get("/readyz", self._readyz),
            ]
        )
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0). InterplayError if it cannot bind."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise InterplayError(
                f"cannot serve metrics on {self.host}:{self.port} ({exc.strerror or exc}): "
                "set [observability] port to a free port, or enabled = false"
            ) from None
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else self.port
        log.info("metrics and health on http://%s:%d (/metrics, /healthz, /readyz)", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.readiness()
        ready = is_ready(checks)
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        return web.json_response(body, status=200 if ready else 503)
