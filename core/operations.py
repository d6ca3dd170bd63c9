"""What a running bot has besides its plugins: limits, admin commands, metrics and health endpoints."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .limits import AdmissionGate
from .redaction import redact, remember_references

if TYPE_CHECKING:
    from .app import Bot
    from .bus import Bus
    from .messages import Message
    from .pipeline import Pipeline

log = logging.getLogger("interplay.operations")


class Operations:
    """Started first and stopped last by the bot; `attach()` wires it into the pipeline and bus."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.metrics: Any = None  # BotMetrics when [observability] enabled
        self.server: Any = None
        # secrets a plugin reads itself (not through resolve_secret) are still masked in logs
        remember_references(bot.config.plugins)

    async def start(self) -> None:
        """Serve /metrics, /healthz and /readyz when enabled (imports prometheus and aiohttp only then)."""
        settings = self.bot.config.observability
        if not settings.enabled:
            return
        from .observability.metrics import BotMetrics
        from .observability.server import OperationsServer

        self.metrics = BotMetrics(self.bot)
        limits = self.bot.config.limits
        self.server = OperationsServer(
            self.bot, self.metrics, settings.host, settings.port, limits.max_request_bytes
        )
        await self.server.start()

    def attach(self, pipeline: Pipeline, bus: Bus) -> None:
        """Give the bus its admission limits, the pipeline its observer and the admin commands."""
        bus.gate = AdmissionGate(self.bot.config.limits)
        for plugin in self.bot.started:  # defaults such as "$env:SLACK_BOT_TOKEN" are not in config.toml
            remember_references(plugin.settings.model_dump())
        if self.metrics is not None:
            pipeline.observer = self.metrics
        pipeline.commands.add(
            "status", "queue depth, errors and plugin states", self._status, admin_only=True
        )

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def _status(self, message: Message) -> str:
        """The /status admin command: what an operator checks first."""
        bot = self.bot
        bus = bot.bus
        lines = [
            f"pending {bus.pending if bus else 0}, conversations {bus.conversations if bus else 0}, "
            f"processed {bus.processed if bus else 0}",
            "plugins: " + ", ".join(f"{name} {state}" for name, state in bot.status.items()),
            "errors: " + (", ".join(f"{p}={n}" for p, n in bot.errors.most_common()) or "none"),
        ]
        generator = bot.generator
        if generator is not None:
            lines.append(f"model: {generator.model_version or '-'}")
        return redact("\n".join(lines))  # plugin states may quote a library's error
