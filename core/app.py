"""The bot: builds the enabled plugins from config, wires them to the store and the bus."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from typing import Any, cast

from .bus import Bus
from .config import InterplayConfig
from .contracts import Analyzer, Channel, Generator, Plugin, PluginContext, Skill
from .errors import InterplayError, PluginError, StartupError, startup_line
from .learning import Learning
from .operations import Operations
from .pipeline import Pipeline
from .plugins import PluginRegistry, load_registry, missing_extra
from .store import ConversationStore, MemoryStore, SQLiteStore

log = logging.getLogger("interplay.app")


def open_store(config: InterplayConfig) -> ConversationStore:
    """The store named in config."""
    if config.store.backend == "memory":
        return MemoryStore()
    if config.store.backend == "redis":
        from .scale.store import RedisStore  # imported only when asked: redis stays out of the core

        return RedisStore.from_config(config)
    return SQLiteStore(config.store_path)


class Bot:
    """One running Interplay process. `async with Bot(config) as bot:` starts and stops it."""

    def __init__(
        self,
        config: InterplayConfig,
        registry: PluginRegistry | None = None,
        *,
        store: ConversationStore | None = None,
    ) -> None:
        self.learning = Learning(self, config)  # implicit feedback, /forget, /optout, hot swap
        config = self.learning.promoted_config()  # serve promoted model versions from the start
        self.config = config
        self.registry = registry or load_registry(config)
        self.store = store or open_store(config)
        self.context = PluginContext(self.store, config.data_dir, config)
        self.context.request_stop = self.request_stop
        self.status: dict[str, str] = {}
        self.errors: Counter[str] = Counter()
        self.channels: dict[str, Channel] = {}
        self.started: list[Plugin] = []
        self.pipeline: Pipeline | None = None
        self.bus: Bus | None = None
        self._stopped = asyncio.Event()
        self._start_failures: list[tuple[str, str, BaseException]] = []
        self.operations = Operations(self)  # limits, admin commands, metrics and health server

    async def __aenter__(self) -> Bot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the store, start the enabled plugins, recover pending messages, open channels."""
        await self.operations.start()  # first: /healthz answers while models load
        await self.store.open()
        pipe = self.config.pipeline
        analyzers = [cast(Analyzer, a) for n in pipe.analyzers if (a := await self._start("analyzer", n))]
        skills = [cast(Skill, s) for n in pipe.skills if (s := await self._start("skill", n))]
        generator = await self._start("generator", pipe.generator) if pipe.generator else None
        channels = [c for n in pipe.channels if (c := await self._start("channel", n))]
        if self._start_failures:  # a misconfigured enabled plugin: refuse to run half a bot
            await self.stop()
            raise StartupError(self._start_failures)
        if pipe.channels and not channels:
            await self.stop()
            raise PluginError("no channel could start: " + "; ".join(self.status.values()))
        self.channels = {c.name: c for c in channels}  # type: ignore[misc]
        self.pipeline = Pipeline(
            self.store,
            self.channels,
            self.config.bus,
            analyzers=analyzers,
            skills=skills,
            generator=generator,  # type: ignore[arg-type]
            history_turns=self.config.store.history_turns,
            on_error=self._count_error,
        )
        self.pipeline.commands.admins = frozenset(self.config.interplay.admins)
        self.bus = self._make_bus()
        self.operations.attach(self.pipeline, self.bus)
        self.learning.attach(self.pipeline)
        await self.bus.recover()
        for channel in list(channels):
            await self._open_channel(channel)  # type: ignore[arg-type]

    def _make_bus(self) -> Bus:
        """The in-process bus; the scale-out roles (interplay.core.scale) put Redis here."""
        assert self.pipeline is not None
        return Bus(self.store, self.pipeline, self.config.bus)

    async def _start(self, kind: str, name: str) -> Plugin | None:
        """Build and start one plugin; on failure report it by name and carry on without it."""
        plugin: Plugin | None = None
        try:
            plugin = self.registry.build(kind, name, self.config, self.context)
            await plugin.start()
        except Exception as exc:
            if (missing := missing_extra(exc, name)) is not None:
                exc = missing  # an extra's module imported only in start(): onnxruntime, tokenizers
            if not isinstance(exc, InterplayError):
                log.exception("%s plugin %r failed to start", kind, name)
            await self._failed(kind, name, plugin, startup_line(kind, name, exc))
            self._start_failures.append((kind, name, exc))
            return None
        self.status[name] = "running"
        self.started.append(plugin)
        return plugin

    async def _failed(self, kind: str, name: str, plugin: Plugin | None, why: str) -> None:
        self.status[name] = f"failed: {why}"
        log.debug("%s plugin %r is not running: %s", kind, name, why)  # start() raises it: no double report
        if plugin is not None:
            try:
                await plugin.stop()
            except Exception:
                log.debug("stop after failed start raised", exc_info=True)
        return None

    async def _open_channel(self, channel: Channel) -> None:
        assert self.bus is not None
        try:
            await channel.open(self.bus)
        except Exception as exc:
            why = str(exc) if isinstance(exc, InterplayError) else f"{type(exc).__name__}: {exc}"
            self.status[channel.name] = f"failed: {why}"
            log.error("channel %r could not open: %s", channel.name, why)
            self.channels.pop(channel.name, None)
            self.started.remove(channel)
            await _quietly(channel.stop(), channel.name)

    def _count_error(self, plugin: str, exc: BaseException) -> None:
        self.errors[plugin] += 1

    @property
    def generator(self) -> Generator | None:
        return self.pipeline.generator if self.pipeline else None

    @property
    def analyzers(self) -> list[Analyzer]:
        return self.pipeline.analyzers if self.pipeline else []

    @property
    def skills(self) -> list[Skill]:
        return self.pipeline.skills if self.pipeline else []

    def request_stop(self) -> None:
        """Ask `run_forever()` to shut down (signals, a console that reached end of input)."""
        self._stopped.set()

    async def run_forever(self) -> None:
        """Run until SIGINT/SIGTERM or `request_stop()`, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop)
            except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
                pass
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Refuse new input, finish in-flight messages within the deadline, then stop every plugin.

        Channels stop last so that in-flight replies can still go out; a channel that fetches
        while the bus is closed gets BusClosed and leaves the message unacknowledged upstream.
        """
        if self.bus is not None:
            await self.bus.drain()
        await self.learning.stop()
        for plugin in reversed(self.started):
            await _quietly(plugin.stop(), plugin.name)
        self.started.clear()
        await self.store.close()
        await self.operations.stop()


async def _quietly(awaitable: Any, name: str) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("plugin %r failed to stop cleanly", name)
