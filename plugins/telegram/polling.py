"""Long polling: fetch updates, hand each to the channel, confirm only what was stored.

Telegram re-sends every update until a getUpdates call carries an offset past it, so the
offset moves only after `handle` returned for an update: one fetched but not yet stored when
the process dies is fetched again after a restart (at-least-once in).

A failure of the environment (store busy or locked, Redis unavailable, disk full, network) is
never a reason to lose an update: it stays unconfirmed and polling backs off until the store is
back. Only an update that fails for another reason MAX_ATTEMPTS times in a row (a payload no
retry will fix) is skipped; that is logged at ERROR and counted in `dropped`.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from interplay.core.bus import BusClosed
from interplay.core.errors import transient
from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from .inbound import ALLOWED_UPDATES
from .outbound import retry_seconds
from .settings import TelegramSettings

log = logging.getLogger("interplay.telegram")
# We call getUpdates through do_api_request on purpose (see _fetch); PTB would warn on every poll.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)
Handle = Callable[[Update], Awaitable[None]]
MAX_ATTEMPTS = 3  # an update whose handling keeps failing (not the store) is dropped after this many


class Poller:
    """Owns the getUpdates loop; `run()` returns when the bus closes or the task is cancelled."""

    def __init__(self, bot: Any, handle: Handle, settings: TelegramSettings,
                 redact: Callable[[str], str]) -> None:
        self.bot = bot
        self.handle = handle
        self.settings = settings
        self.redact = redact
        self.offset: int | None = None
        self.batches = 0
        self.dropped = 0  # updates skipped because handling them kept failing
        self._failures: dict[int, int] = defaultdict(int)
        self._closed = False
        self._stalled: BaseException | None = None  # the last transient failure of this batch
        self._stalls = 0  # batches in a row that hit one

    async def run(self) -> None:
        errors = 0
        while True:
            try:
                raw = await self._fetch()
                errors = 0
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except InvalidToken as exc:
                log.error("Telegram refused the bot token (%s): polling stopped; check TELEGRAM_BOT_TOKEN",
                          self.redact(str(exc)))
                return
            except TelegramError as exc:  # network errors, 5xx, 409 Conflict (another poller, a webhook)
                errors += 1
                await self._pause(errors, exc, "getUpdates")
                continue
            if raw and not await self.process(raw):
                return  # the bot is shutting down: leave the rest unconfirmed
            if self._stalled is not None:  # the same updates come back at once: wait for the store
                self._stalls += 1
                await self._pause(self._stalls, self._stalled, "handling updates")
            else:
                self._stalls = 0

    async def _fetch(self) -> list[Any]:
        timeout = self.settings.poll_timeout
        kwargs: dict[str, Any] = {"limit": self.settings.poll_limit, "timeout": timeout,
                                  "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            kwargs["offset"] = self.offset
        # Raw JSON rather than bot.get_updates(): one malformed update must not fail the whole batch.
        result = await self.bot.do_api_request(
            "getUpdates", api_kwargs=kwargs, read_timeout=timeout + self.settings.request_timeout,
        )
        return result if isinstance(result, list) else []

    async def _pause(self, errors: int, exc: BaseException, what: str) -> None:
        delay = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** min(errors - 1, 10))
        level = logging.WARNING if errors in (1, 10) or isinstance(exc, Conflict) else logging.INFO
        log.log(level, "%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__,
                self.redact(str(exc)), delay)
        await asyncio.sleep(delay)

    async def process(self, raw: list[Any]) -> bool:
        """Handle one batch; chats run concurrently, each chat's updates in update_id order."""
        self.batches += 1
        updates, skipped = self._parse(raw)
        by_chat: dict[object, list[Update]] = defaultdict(list)
        for update in sorted(updates, key=lambda u: u.update_id):  # out-of-order batches still go in order
            chat = update.effective_chat
            by_chat[chat.id if chat else None].append(update)
        self._closed = False
        self._stalled = None
        results = await asyncio.gather(*(self._chat(chain) for chain in by_chat.values()))
        unconfirmed = [uid for failed in results for uid in failed]
        known = [u.update_id for u in updates] + skipped
        if unconfirmed:
            self.offset = min(unconfirmed)  # everything before it was stored: confirm that much
        elif known:
            self.offset = max(max(known) + 1, self.offset or 0)
        return not self._closed

    async def _chat(self, chain: list[Update]) -> list[int]:
        """Handle one chat's updates in order; returns the ids left unconfirmed."""
        for i, update in enumerate(chain):
            try:
                await self.handle(update)
            except BusClosed:
                self._closed = True
                return [u.update_id for u in chain[i:]]
            except Exception as exc:
                if transient(exc):  # not this update's fault: keep it, whatever the count
                    self._stalled = exc
                    return [u.update_id for u in chain[i:]]
                if not self._give_up(update.update_id):
                    return [u.update_id for u in chain[i:]]
            self._failures.pop(update.update_id, None)
        return []

    def _give_up(self, update_id: int) -> bool:
        self._failures[update_id] += 1
        tries = self._failures[update_id]
        log.exception("update %d failed (attempt %d of %d)", update_id, tries, MAX_ATTEMPTS)
        if tries < MAX_ATTEMPTS:
            self._stalled = self._stalled or RuntimeError(f"update {update_id} failed")
            return False
        del self._failures[update_id]
        self.dropped += 1
        log.error("update %d dropped after %d failed attempts (%d dropped since start)",
                  update_id, tries, self.dropped)
        return True

    def _parse(self, raw: list[Any]) -> tuple[list[Update], list[int]]:
        """Updates that parse, and the ids of those that do not (skipped, logged, confirmed)."""
        updates: list[Update] = []
        skipped: list[int] = []
        for item in raw:
            uid = item.get("update_id") if isinstance(item, dict) else None
            try:
                update = Update.de_json(item, self.bot)
                if not isinstance(item.get("update_id"), int) or isinstance(item.get("update_id"), bool):
                    raise TypeError("update_id is not an integer")
            except Exception as exc:
                log.warning("skipping malformed update %r: %s: %s", uid, type(exc).__name__, exc)
                if isinstance(uid, int):
                    skipped.append(uid)
                continue
            updates.append(update)
        return updates, skipped
