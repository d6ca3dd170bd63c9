"""`/forget` deletes the user's messages, the replies to them, their feedback and their rows in the
training datasets (core/privacy.py, docs/security.md); `/optout` and `/optin` keep their
conversations out of (or let them back into) training data. People are (channel, user)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from .. import privacy
from ..errors import StoreError
from ..hookspecs import hookimpl
from ..messages import Message
from ..store.base import ConversationStore

log = logging.getLogger("interplay.privacy")


class PrivacyCommands:
    """The handlers; each needs only the store."""

    def __init__(self, store: ConversationStore, datasets: Path) -> None:
        self.store = store
        self.datasets = datasets

    async def forget(self, message: Message) -> str:
        removed = await self.store.forget_user(message.user_id, message.channel)
        name = privacy.person(message.channel, message.user_id)
        purged, unsure = await asyncio.to_thread(privacy.purge_datasets, self.datasets, name)
        log.info("forgot a user on request: %d messages deleted, %d dataset rows or turns removed",
                 removed, purged)
        text = (f"Done - I deleted the {removed} messages you sent me on {message.channel}, my replies "
                "to them and your ratings, and removed them from the training data on this server. "
                "Not covered: server backups and logs, and models already trained on them.")
        if unsure:
            text += " Some older training files could not be searched; the operator has been told."
        return text

    async def optout(self, message: Message) -> str:
        if not await self._set_opt_out(privacy.person(message.channel, message.user_id), True):
            return "Sorry, opting out is not available on this server yet."
        return "Done - your conversations will not be used to train me. /optin undoes this."

    async def optin(self, message: Message) -> str:
        if not await self._set_opt_out(privacy.person(message.channel, message.user_id), False):
            return "Sorry, opting in is not available on this server yet."
        return "Thanks - your conversations may help train me again. /optout stops that."

    async def _set_opt_out(self, user_id: str, opted_out: bool) -> bool:
        try:
            await self.store.set_opt_out(user_id, opted_out)
        except StoreError as exc:  # a store without opt-out support (see ConversationStore)
            log.error("%s", exc)
            return False
        return True


@hookimpl(trylast=True)
def register_chat_commands(register: Any, config: Any, store: ConversationStore) -> None:
    commands = PrivacyCommands(store, config.data_dir / "datasets")
    register("forget", "delete what I have stored about you here", commands.forget)
    register("optout", "keep your conversations out of my training data", commands.optout)
    register("optin", "let your conversations help train me again", commands.optin)
