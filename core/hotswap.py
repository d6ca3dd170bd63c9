"""Hot swap: a running bot takes up a newly promoted model without dropping a message.

The new model is built and started (loaded, warmed with one short generation) while the old one
keeps answering; then one reference changes on the event loop, so every reply starts on exactly
one model and records its version. Replies already streaming finish on the old model, which is
stopped once the last of them is done (or after the generation timeout).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from . import model_registry as registry
from .config import InterplayConfig
from .contracts import Generator, Plugin
from .errors import InterplayError
from .messages import Conversation, Message

if TYPE_CHECKING:
    from .app import Bot

log = logging.getLogger("interplay.hotswap")
WARMUP_TEXT = "Hello!"


class GeneratorSlot(Generator):
    """Stands in the pipeline for the generator being served and counts its open streams."""

    def __init__(self, inner: Generator) -> None:
        super().__init__(inner.settings, inner.context)
        self.inner = inner
        self.open_streams: dict[int, int] = {}  # id(generator) -> replies still streaming from it

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def model_version(self) -> str | None:
        return self.inner.model_version

    def __getattr__(self, attr: str) -> Any:  # plugin-specific attributes (last_finish, engine...)
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(attr)
        return getattr(inner, attr)

    def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        inner = self.inner  # chosen now, with the version the pipeline records: never mixed
        self.open_streams[id(inner)] = self.open_streams.get(id(inner), 0) + 1
        return self._tracked(inner, conversation)

    async def _tracked(self, inner: Generator, conversation: Conversation) -> AsyncIterator[str]:
        try:
            async for delta in inner.stream(conversation):
                yield delta
        finally:
            self.open_streams[id(inner)] -= 1

    def busy(self, generator: Generator) -> bool:
        return self.open_streams.get(id(generator), 0) > 0

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()


async def warm_up(generator: Generator, timeout: float) -> None:
    """Run one short generation so the first real reply does not pay for lazy initialisation."""
    message = Message(channel="warmup", conversation_id="warmup", user_id="warmup", text=WARMUP_TEXT)
    stream = aiter(generator.stream(Conversation("warmup", message)))
    try:
        async with asyncio.timeout(timeout):
            async for delta in stream:
                if delta:
                    break  # one token proves the model runs; closing the stream cancels the rest
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class ModelSwapper:
    """Watches the model registries of the enabled model plugins and swaps in promoted versions."""

    def __init__(self, bot: Bot, config: InterplayConfig) -> None:
        self.bot = bot
        self.config = config  # as configured: where the registries are, what "no promotion" means
        self.slot: GeneratorSlot | None = None
        self.served: dict[str, str | None] = {}  # plugin -> registry path being served
        self.stamps: dict[str, float] = {}
        self.history: list[dict[str, Any]] = []  # swaps done: plugin, from, to, seconds
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def models(self) -> list[str]:
        """Model plugins whose registries are watched: the generator and the analyzers."""
        pipe = self.config.pipeline
        return [n for n in (pipe.generator, *pipe.analyzers) if n]

    def attach(self) -> None:
        """Put the generator in a slot and remember what is served now."""
        pipeline = self.bot.pipeline
        assert pipeline is not None
        if pipeline.generator is not None and not isinstance(pipeline.generator, GeneratorSlot):
            self.slot = GeneratorSlot(pipeline.generator)
            pipeline.generator = self.slot
        for name in self.models():
            self.served[name] = self._registry_path(name)
            self.stamps[name] = self._stamp(name)

    def _registry_path(self, name: str) -> str | None:
        try:
            entry = registry.current(registry.model_root(self.config, name))
        except InterplayError as exc:
            log.error("%s", exc)
            return self.served.get(name)
        return entry["path"] if entry else None

    def _stamp(self, name: str) -> float:
        try:
            return (registry.model_root(self.config, name) / registry.REGISTRY).stat().st_mtime
        except OSError:
            return 0.0

    def changed(self) -> bool:
        """Cheap check for the watcher: has any registry file been rewritten?"""
        return any(self._stamp(n) != self.stamps.get(n) for n in self.models())

    async def check(self) -> list[str]:
        """Swap in whatever the registries now say; returns one line per plugin that changed."""
        async with self._lock:
            done = []
            for name in self.models():
                self.stamps[name] = self._stamp(name)
                wanted = self._registry_path(name)
                if wanted == self.served.get(name):
                    continue
                done.append(await self._swap_one(name, wanted))
            return done

    async def _swap_one(self, name: str, wanted: str | None) -> str:
        started = time.perf_counter()
        root = registry.model_root(self.config, name)
        config = registry.with_model_dir(self.config, name, root / wanted if wanted else None)
        try:
            version = await self._swap(name, config)
        except Exception as exc:
            why = str(exc) if isinstance(exc, InterplayError) else f"{type(exc).__name__}: {exc}"
            log.error("could not take up %s for %r, still serving the old model: %s", wanted, name, why)
            self.served[name] = wanted  # do not retry a broken version on every tick
            return f"{name}: failed to load {wanted or 'the configured model'} ({why})"
        seconds = time.perf_counter() - started
        self.history.append({"plugin": name, "from": self.served.get(name), "to": wanted,
                             "version": version, "seconds": seconds, "time": time.time()})
        self.served[name] = wanted
        log.info("%s now serves %s (%.1fs to load and warm)", name, version, seconds)
        return f"{name}: now serving {version}"

    async def _swap(self, name: str, config: InterplayConfig) -> str | None:
        pipeline = self.bot.pipeline
        assert pipeline is not None
        kind = "generator" if self.slot is not None and name == self.slot.name else "analyzer"
        new = self.bot.registry.build(kind, name, config, self.bot.context)
        try:
            await new.start()
            if isinstance(new, Generator):
                await warm_up(new, self.bot.config.bus.generation_timeout)
        except BaseException:
            await new.stop()
            raise
        if isinstance(new, Generator) and self.slot is not None:
            old: Plugin = self.slot.inner
            self.slot.inner = new  # the swap: one assignment on the event loop
            self._retire(old, lambda: self.slot is not None and self.slot.busy(old))  # type: ignore[arg-type]
            self._replace_started(old, new)
            return new.model_version
        old = next(a for a in pipeline.analyzers if a.name == name)
        pipeline.analyzers = [new if a is old else a for a in pipeline.analyzers]  # type: ignore[misc]
        self._retire(old, lambda: False, grace=self.bot.config.bus.analyzer_timeout)
        self._replace_started(old, new)
        return getattr(new, "model_version", None) or name

    def _replace_started(self, old: Plugin, new: Plugin) -> None:
        started = self.bot.started
        self.bot.started = [new if p is old else p for p in started]

    def _retire(self, old: Plugin, busy: Any, grace: float = 0.0) -> None:
        """Stop the old model once nothing streams from it any more (bounded by the timeout)."""

        async def retire() -> None:
            deadline = time.monotonic() + self.bot.config.bus.generation_timeout
            await asyncio.sleep(grace)
            # polling every 50 ms is simpler than an event per model, and a swap is rare
            while busy() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            try:
                await old.stop()
            except Exception:
                log.exception("the replaced %s model failed to stop cleanly", old.name)

        task = asyncio.get_running_loop().create_task(retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        """Let retiring models finish and stop."""
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
