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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import InterplayConfig
from .contracts import Analyzer, Generator, Plugin
from .errors import InterplayError
from .messages import Conversation, Message
from .model_dir import registry
from .state import BotState, Stages
from .tasks import BackgroundTasks

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

    def swap(self, new: Generator) -> None:
        """Serve `new` from the next reply on; replies already streaming finish on the old one."""
        self.inner = new

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


Build = Callable[[str, str, InterplayConfig], Plugin]  # (kind, name, config) -> a new, unstarted plugin


@dataclass(frozen=True)
class WatchedModel:
    """A plugin whose model hot swap follows: its kind, name and where its class keeps the model."""

    kind: str
    name: str
    home: registry.ModelHome


class ModelSwapper:
    """Watches the model registries of the enabled model plugins and swaps in promoted versions.

    `stages` is what the pipeline runs (its generator a `GeneratorSlot`), `state` what the bot
    stops at shutdown, `build` makes the new plugin from a config pointing at the new model, and
    `watched` the plugins that declare a model home (`PluginRegistry.model_plugins`).
    """

    def __init__(
        self,
        config: InterplayConfig,
        stages: Stages,
        state: BotState,
        build: Build,
        watched: list[WatchedModel],
    ) -> None:
        self.config = config  # as configured: where the registries are, what "no promotion" means
        self.stages = stages
        self.state = state
        self.build = build
        self.watched = {w.name: w for w in watched}
        generator = stages.generator
        self.slot = generator if isinstance(generator, GeneratorSlot) else None
        self.served: dict[str, str | None] = {}  # plugin -> registry path being served
        self.stamps: dict[str, float] = {}
        self.history: list[dict[str, Any]] = []  # swaps done: plugin, from, to, seconds
        self._lock = asyncio.Lock()
        self._retiring = BackgroundTasks("hot swap")
        for name in self.models():
            self.served[name] = self._registry_path(name)
            self.stamps[name] = self._stamp(name)

    def models(self) -> list[str]:
        """Model plugins whose registries are watched: those that declare where their model is."""
        return list(self.watched)

    def root(self, name: str) -> Path:
        return registry.model_root(self.config, name, self.watched[name].home)

    def _registry_path(self, name: str) -> str | None:
        try:
            entry = registry.current(self.root(name))
        except InterplayError as exc:
            log.error("%s", exc)
            return self.served.get(name)
        return entry["path"] if entry else None

    def _stamp(self, name: str) -> float:
        try:
            return (self.root(name) / registry.REGISTRY).stat().st_mtime
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
        root = self.root(name)
        try:  # a path outside root/versions (absolute, "../") is refused, not followed
            path = registry.version_dir(root, wanted) if wanted else None
            config = registry.with_model_dir(self.config, name, path, self.watched[name].home)
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
        new = self.build(self.watched[name].kind, name, config)
        try:
            await new.start()
            if isinstance(new, Generator):
                await warm_up(new, self.config.bus.generation_timeout)
        except BaseException:
            await new.stop()
            raise
        if isinstance(new, Generator):
            slot = self.slot
            if slot is None:
                await new.stop()
                raise InterplayError(f"generator {name!r} is not in a hot-swap slot (hot swap was off)")
            old_generator = slot.inner
            slot.swap(new)  # one assignment on the event loop
            self._retire(old_generator, lambda: slot.busy(old_generator))
            return new.model_version
        assert isinstance(new, Analyzer)
        old = next(a for a in self.stages.analyzers if a.name == name)
        self.stages.replace_analyzer(old, new)
        self.state.replaced(old, new)
        self._retire(old, lambda: False, grace=self.config.bus.analyzer_timeout)
        return getattr(new, "model_version", None) or name

    def _retire(self, old: Plugin, busy: Callable[[], bool], grace: float = 0.0) -> None:
        """Stop the old model once nothing streams from it any more (bounded by the timeout)."""

        async def retire() -> None:
            deadline = time.monotonic() + self.config.bus.generation_timeout
            await asyncio.sleep(grace)
            # polling every 50 ms is simpler than an event per model, and a swap is rare
            while busy() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            try:
                await old.stop()
            except Exception:
                log.exception("the replaced %s model failed to stop cleanly", old.name)

        self._retiring.spawn(retire(), name=f"interplay-retire-{old.name}")

    async def stop(self) -> None:
        """Let retiring models finish and stop."""
        await self._retiring.wait()
