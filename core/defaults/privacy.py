"""`/forget` deletes everything stored about the user; `/optout` and `/optin` keep their
conversations out of (or let them back into) training data."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import StoreError
from ..hookspecs import hookimpl
from ..messages import Message
from ..store.base import ConversationStore

log = logging.getLogger("interplay.privacy")


class PrivacyCommands:
    """The handlers; each needs only the store."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    async def forget(self, message: Message) -> str:
        removed = await self.store.forget_user(message.user_id)
        log.info("forgot a user on request: %d messages deleted", removed)
        return f"Done - I deleted everything I had stored about you ({removed} messages)."

    async def optout(self, message: Message) -> str:
        if not await self._set_opt_out(message.user_id, True):
            return "Sorry, opting out is not available on this server yet."
        return "Done - your conversations will not be used to train me. /optin undoes this."

    async def optin(self, message: Message) -> str:
        if not await self._set_opt_out(message.user_id, False):
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
def register_chat_commands(register: Any, store: ConversationStore) -> None:
    commands = PrivacyCommands(store)
    register("forget", "delete everything I have stored about you", commands.forget)
    register("optout", "keep your conversations out of my training data", commands.optout)
    register("optin", "let your conversations help train me again", commands.optin)
