"""The bot: runs what `build_bot()` (core/assembly.py) built. `async with bot:` starts and stops it."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import InterplayConfig
from .contracts import Channel, Generator, Plugin
from .errors import InterplayError, PluginError, StartupError, startup_line
from .plugins import missing_extra
from .state import BotState
from .store import ConversationStore, MemoryStore, SQLiteStore

if TYPE_CHECKING:
    from .bus import BusBackend
    from .model_watch import ModelWatcher
    from .observability.server import OperationsServer
    from .pipeline import Pipeline

log = logging.getLogger("interplay.app")


def open_store(config: InterplayConfig, role: str = "all") -> ConversationStore:
    """The store named in config (a worker's is the Redis store that prefetches history)."""
    if role == "worker":
        from .scale.store import WorkerStore

        return WorkerStore.from_config(config)
    if config.store.backend == "memory":
        return MemoryStore()
    if config.store.backend == "redis":
        from .scale.store import RedisStore  # imported only when asked: redis stays out of the core

        return RedisStore.from_config(config)
    return SQLiteStore(config.store_path)


@dataclass
class Planned:
    """One enabled plugin, built (or why not) by `build_bot()`, started by `Bot.start()`."""

    kind: str
    name: str
    plugin: Plugin | None
    error: BaseException | None = None


class Bot:
    """One running Interplay process, as `build_bot()` assembled it."""

    def __init__(
        self,
        config: InterplayConfig,
        store: ConversationStore,
        state: BotState,
        plan: list[Planned],
        pipeline: Pipeline,
        bus: BusBackend,
        *,
        server: OperationsServer | None = None,
        watcher: ModelWatcher | None = None,
        stopped: asyncio.Event | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.state = state
        self.plan = plan
        self.pipeline = pipeline
        self.bus = bus
        self.server = server
        self.watcher = watcher
        self._stopped = stopped or asyncio.Event()
        self._start_failures: list[tuple[str, str, BaseException]] = []

    async def __aenter__(self) -> Bot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # what tests, /status and the CLI read --------------------------------------------------
    @property
    def status(self) -> dict[str, str]:
        return self.state.status

    @property
    def errors(self) -> Counter[str]:
        return self.state.errors

    @property
    def channels(self) -> dict[str, Channel]:
        return self.state.channels

    @property
    def generator(self) -> Generator | None:
        return self.pipeline.stages.generator

    async def start(self) -> None:
        """Open the store, start the enabled plugins, recover pending messages, open channels."""
        if self.server is not None:
            await self.server.start()  # first: /healthz answers while models load
        await self.store.open()
        for planned in self.plan:
            await self._start(planned)
        if self._start_failures:  # a misconfigured enabled plugin: refuse to run half a bot
            await self.stop()
            raise StartupError(self._start_failures)
        channels = [p.plugin for p in self.plan if isinstance(p.plugin, Channel)]
        if self.config.pipeline.channels and not channels:
            await self.stop()
            raise PluginError("no channel could start: " + "; ".join(self.status.values()))
        for channel in channels:
            self.state.opened(channel)
        await self.bus.start(self.pipeline)
        self.state.serve()
        if self.watcher is not None:
            self.watcher.start()
        for channel in channels:
            await self._open_channel(channel)

    async def _start(self, planned: Planned) -> None:
        """Start one built plugin; on failure report it by name and carry on with the others."""
        kind, name, plugin = planned.kind, planned.name, planned.plugin
        try:
            if planned.error is not None:
                raise planned.error
            assert plugin is not None
            await plugin.start()
        except Exception as exc:
            if (missing := missing_extra(exc, name)) is not None:
                exc = missing  # an extra's module imported only in start(): onnxruntime, tokenizers
            if not isinstance(exc, InterplayError):
                log.exception("%s plugin %r failed to start", kind, name)
            why = startup_line(kind, name, exc)
            self.state.failed(name, why)
            log.debug("%s plugin %r is not running: %s", kind, name, why)  # raised by start(), once
            if plugin is not None:
                await _quietly(plugin.stop(), name, level=logging.DEBUG)
            self._start_failures.append((kind, name, exc))
            return
        self.state.started(plugin)

    async def _open_channel(self, channel: Channel) -> None:
        try:
            await channel.open(self.bus)
        except Exception as exc:
            why = str(exc) if isinstance(exc, InterplayError) else f"{type(exc).__name__}: {exc}"
            self.state.failed(channel.name, why)
            log.error("channel %r could not open: %s", channel.name, why)
            self.state.closed(channel)
            await _quietly(channel.stop(), channel.name)

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
        if self.state.serving:  # never started (a start-up failure): nothing in flight
            await self.bus.drain()
        if self.watcher is not None:
            await self.watcher.stop()
        for plugin in reversed(self.state.running):
            await _quietly(plugin.stop(), plugin.name)
        self.state.running.clear()
        await self.store.close()
        if self.server is not None:
            await self.server.stop()


async def _quietly(awaitable: Any, name: str, level: int = logging.ERROR) -> None:
    try:
        await awaitable
    except Exception:
        log.log(level, "plugin %r failed to stop cleanly", name, exc_info=True)
