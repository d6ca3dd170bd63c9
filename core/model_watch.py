"""The bot's look at the model registries: every `watch_interval` seconds, and on SIGHUP.

A registry file that changed makes the swapper (core/hotswap.py) take up the promoted version;
`/reload` (core/defaults/admin.py) does the same on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from .config import LoopSettings
from .hotswap import ModelSwapper
from .tasks import BackgroundTasks

log = logging.getLogger("interplay.model_watch")


class ModelWatcher:
    """Owns the watcher task and the SIGHUP handler; `stop()` also lets retiring models finish."""

    def __init__(self, swapper: ModelSwapper, settings: LoopSettings) -> None:
        self.swapper = swapper
        self.settings = settings
        self._tasks = BackgroundTasks("model watch")
        self._sighup = False

    def start(self) -> None:
        self._tasks.spawn(self._watch(), name="interplay-model-watch")
        if self.settings.reload_on_sighup:
            self._sighup = _on_signal(getattr(signal, "SIGHUP", None), self._reload_soon)

    async def _watch(self) -> None:
        """Look at the registry files every `watch_interval` seconds; swap when one changed."""
        while True:
            await asyncio.sleep(self.settings.watch_interval)
            try:
                if self.swapper.changed():
                    await self.swapper.check()
            except Exception:
                log.exception("checking for promoted models failed")

    def _reload_soon(self) -> None:
        log.info("SIGHUP: checking for promoted models")
        self._tasks.spawn(self.swapper.check())  # errors are logged in check

    async def stop(self) -> None:
        """Stop watching; let replaced models finish their replies and stop."""
        if self._sighup:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        await self._tasks.cancel()
        await self.swapper.stop()


def _on_signal(sig: signal.Signals | None, callback: Callable[[], object]) -> bool:
    """Install a signal handler where the platform and thread allow it."""
    if sig is None:
        return False
    try:
        asyncio.get_running_loop().add_signal_handler(sig, callback)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        return False
    return True
