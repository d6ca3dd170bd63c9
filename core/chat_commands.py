"""Commands people type in any channel: /help, /reset, /good, /bad, and those plugins register.

`/forget`, `/optout`, `/optin`, `/reload` and `/status` come from the default plugins
(core/defaults/) through the `register_chat_commands` hook, like a third party's commands.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .messages import Feedback, Message
from .store.base import ConversationStore

log = logging.getLogger("interplay.commands")
Handler = Callable[[Message], Awaitable[str]]


@dataclass(frozen=True)
class ChatCommand:
    name: str
    help: str
    handler: Handler
    admin_only: bool = False


class ChatCommands:
    """The built-in chat commands plus `extra` ones (from the `register_chat_commands` hook)."""

    def __init__(
        self,
        store: ConversationStore,
        admins: frozenset[str] = frozenset(),
        extra: Sequence[ChatCommand] = (),
    ) -> None:
        self.store = store
        self.admins = admins
        self.commands: dict[str, ChatCommand] = {}
        self.add("help", "list the commands", self._help)
        self.add("start", "say hello and list the commands", self._help)
        self.add("reset", "forget this conversation's history and start afresh", self._reset)
        self.add("good", "mark my last reply as good", lambda m: self._rate(m, 1.0))
        self.add("bad", "mark my last reply as bad", lambda m: self._rate(m, -1.0))
        for command in extra:
            self.commands[command.name] = command

    def add(self, name: str, help: str, handler: Handler, *, admin_only: bool = False) -> None:
        """Register a command (`name` without the slash)."""
        self.commands[name] = ChatCommand(name, help, handler, admin_only)

    def is_admin(self, message: Message) -> bool:
        """`admins` names people as "channel:user id" (`InterplayConfig.admin_people`): only that pair."""
        return f"{message.channel}:{message.user_id}" in self.admins

    def parse(self, message: Message) -> ChatCommand | None:
        text = message.text.strip()
        if not text.startswith("/"):
            return None
        word = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
        return self.commands.get(word.split("@", 1)[0].lower())  # "/help@MyBot" in Telegram groups

    def is_command(self, message: Message) -> bool:
        return self.parse(message) is not None

    async def answer(self, command: ChatCommand, message: Message) -> str:
        """What the command says back (the pipeline sends it, outside the history)."""
        if command.admin_only and not self.is_admin(message):
            return "That command is for the bot's administrators."
        return await command.handler(message)

    async def _help(self, message: Message) -> str:
        lines = [
            f"/{c.name} - {c.help}"
            for c in self.commands.values()
            if c.name != "start" and (not c.admin_only or self.is_admin(message))
        ]
        return "Talk to me in plain words. Commands:\n" + "\n".join(lines)

    async def _reset(self, message: Message) -> str:
        await self.store.reset(message.conversation_id)
        return "Done - I've forgotten this conversation. Let's start again."

    async def _rate(self, message: Message, score: float) -> str:
        store = self.store
        reply = await store.last_reply(message.conversation_id)
        if reply is None:
            return "There is no reply of mine to rate yet."
        await store.add_feedback(
            Feedback(
                reply_id=reply.id,
                conversation_id=message.conversation_id,
                user_id=message.user_id,
                score=score,
                kind="explicit",
                channel=message.channel,
                model_version=reply.model_version,
            )
        )
        return "Thanks - noted." if score > 0 else "Thanks - noted. I'll try to do better."
