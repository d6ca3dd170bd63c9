"""The running bot's side of the learning loop: implicit feedback, privacy commands, hot swap.

`Bot` builds one `Learning` before its plugins (so promoted models are served from the start)
and attaches it to the pipeline once that exists. Chat commands it adds:

- `/forget` deletes everything stored about the user; `/optout` and `/optin` keep their
  conversations out of (or let them back into) training data;
- `/reload` (admins only) takes up newly promoted models now instead of at the next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

from . import model_registry
from .config import InterplayConfig
from .errors import StoreError
from .hotswap import ModelSwapper
from .messages import Message
from .signals import ImplicitSignals

if TYPE_CHECKING:
    from .app import Bot
    from .pipeline import Pipeline

log = logging.getLogger("interplay.learning")


class Learning:
    """Owns the model watcher task and the learning-related chat commands of one bot."""

    def __init__(self, bot: Bot, config: InterplayConfig) -> None:
        self.bot = bot
        self.config = config  # as configured, before promoted models are applied
        self.swapper = ModelSwapper(bot, config)
        self._watcher: asyncio.Task[None] | None = None
        self._sighup = False

    def promoted_config(self) -> InterplayConfig:
        """The config the plugins are built from: promoted model versions where there are any."""
        if not self.config.loop.hot_swap:
            return self.config
        return model_registry.promoted_config(self.config)

    def attach(self, pipeline: Pipeline) -> None:
        """Hook implicit feedback and the commands into the pipeline; start watching for models."""
        pipeline.signals = ImplicitSignals(self.bot.store, self.config.feedback)
        commands = pipeline.commands
        commands.add("forget", "delete everything I have stored about you", self._forget)
        commands.add("optout", "keep your conversations out of my training data", self._optout)
        commands.add("optin", "let your conversations help train me again", self._optin)
        commands.add("reload", "take up newly promoted models now", self._reload, admin_only=True)
        if not self.config.loop.hot_swap:
            return
        self.swapper.attach()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="interplay-model-watch")
        if self.config.loop.reload_on_sighup:
            self._sighup = _on_signal(getattr(signal, "SIGHUP", None), self._reload_soon)

    async def _watch(self) -> None:
        """Look at the registry files every `watch_interval` seconds; swap when one changed."""
        while True:
            await asyncio.sleep(self.config.loop.watch_interval)
            try:
                if self.swapper.changed():
                    await self.swapper.check()
            except Exception:
                log.exception("checking for promoted models failed")

    def _reload_soon(self) -> None:
        log.info("SIGHUP: checking for promoted models")
        task = asyncio.get_running_loop().create_task(self.swapper.check())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # errors are logged in check

    async def stop(self) -> None:
        """Stop watching; let replaced models finish their replies and stop."""
        if self._sighup:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self.swapper.stop()

    # -- chat commands ---------------------------------------------------------------------
    async def _forget(self, message: Message) -> str:
        removed = await self.bot.store.forget_user(message.user_id)
        log.info("forgot a user on request: %d messages deleted", removed)
        return f"Done - I deleted everything I had stored about you ({removed} messages)."

    async def _optout(self, message: Message) -> str:
        if not await self._set_opt_out(message.user_id, True):
            return "Sorry, opting out is not available on this server yet."
        return "Done - your conversations will not be used to train me. /optin undoes this."

    async def _optin(self, message: Message) -> str:
        if not await self._set_opt_out(message.user_id, False):
            return "Sorry, opting in is not available on this server yet."
        return "Thanks - your conversations may help train me again. /optout stops that."

    async def _set_opt_out(self, user_id: str, opted_out: bool) -> bool:
        try:
            await self.bot.store.set_opt_out(user_id, opted_out)
        except StoreError as exc:  # a store without opt-out support (see ConversationStore)
            log.error("%s", exc)
            return False
        return True

    async def _reload(self, message: Message) -> str:
        if not self.config.loop.hot_swap:
            return "Hot swap is off ([loop] hot_swap = false)."
        changes = await self.swapper.check()
        return "\n".join(changes) if changes else "Already serving the newest promoted models."


def _on_signal(sig: signal.Signals | None, callback: object) -> bool:
    """Install a signal handler where the platform and thread allow it."""
    if sig is None:
        return False
    try:
        asyncio.get_running_loop().add_signal_handler(sig, callback)  # type: ignore[arg-type]
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        return False
    return True
