"""Commands people type in any channel: /help, /reset, /good, /bad."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .messages import Feedback, Message
from .store.base import Status

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger("interplay.commands")
Handler = Callable[[Message], Awaitable[str]]


@dataclass(frozen=True)
class ChatCommand:
    name: str
    help: str
    handler: Handler
    admin_only: bool = False


class ChatCommands:
    """The built-in chat commands; `add()` lets the core and plugins contribute more."""

    def __init__(self, pipeline: Pipeline, admins: frozenset[str] = frozenset()) -> None:
        self.pipeline = pipeline
        self.admins = admins
        self.commands: dict[str, ChatCommand] = {}
        self.add("help", "list the commands", self._help)
        self.add("start", "say hello and list the commands", self._help)
        self.add("reset", "forget this conversation's history and start afresh", self._reset)
        self.add("good", "mark my last reply as good", lambda m: self._rate(m, 1.0))
        self.add("bad", "mark my last reply as bad", lambda m: self._rate(m, -1.0))

    def add(self, name: str, help: str, handler: Handler, *, admin_only: bool = False) -> None:
        """Register a command (`name` without the slash)."""
        self.commands[name] = ChatCommand(name, help, handler, admin_only)

    def parse(self, message: Message) -> ChatCommand | None:
        text = message.text.strip()
        if not text.startswith("/"):
            return None
        word = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
        return self.commands.get(word.split("@", 1)[0].lower())  # "/help@MyBot" in Telegram groups

    def is_command(self, message: Message) -> bool:
        return self.parse(message) is not None

    async def run(self, message: Message) -> None:
        """Run a command and send its answer; the exchange stays out of the history."""
        command = self.parse(message)
        assert command is not None
        if command.admin_only and message.user_id not in self.admins:
            text = "That command is for the bot's administrators."
        else:
            text = await command.handler(message)
        await self.pipeline.send_text(message, text, f"command:{command.name}")
        await self.pipeline.store.set_status(message.id, Status.DONE)

    async def _help(self, message: Message) -> str:
        lines = [
            f"/{c.name} - {c.help}"
            for c in self.commands.values()
            if c.name != "start" and (not c.admin_only or message.user_id in self.admins)
        ]
        return "Talk to me in plain words. Commands:\n" + "\n".join(lines)

    async def _reset(self, message: Message) -> str:
        await self.pipeline.store.reset(message.conversation_id)
        return "Done - I've forgotten this conversation. Let's start again."

    async def _rate(self, message: Message, score: float) -> str:
        store = self.pipeline.store
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
