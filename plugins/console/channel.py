"""Console chat: a prompt_toolkit REPL on a terminal, plain line-by-line I/O on a pipe."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from typing import Literal, TextIO

from interplay.core import (
    Channel,
    Inbox,
    Message,
    PluginContext,
    PluginSettings,
    Reply,
    ReplyStream,
    Submitted,
)

HELP = "/debug - show NLU tags, latency and model version for each reply\n/quit - leave"


class ConsoleSettings(PluginSettings):
    user: str = ""  # defaults to the login name
    conversation: str = "console"
    debug: bool = False
    reply_timeout: float = 300.0  # how long to wait for one reply before giving the prompt back
    # on a pipe: "text" prints one reply per line (newlines inside a reply written as \n, and \ as \\),
    # "jsonl" one JSON object per reply (`interplay chat --jsonl`)
    output: Literal["text", "jsonl"] = "text"


class ConsoleChannel(Channel[ConsoleSettings]):
    """Reads what you type, prints the bot's streamed reply."""

    name = "console"
    Settings = ConsoleSettings

    def __init__(
        self,
        settings: ConsoleSettings,
        context: PluginContext,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        super().__init__(settings, context)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.debug = settings.debug
        self.interactive = self.stdin.isatty() and self.stdout.isatty()
        self.user = settings.user or _login()
        self._done: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None

    async def open(self, inbox: Inbox) -> None:
        self._reader = asyncio.create_task(self._read_loop(inbox))

    async def stop(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    async def _read_loop(self, inbox: Inbox) -> None:
        try:
            if self.interactive:
                self._write("Interplay console chat. /help for commands, Ctrl-D to leave.\n")
            while (line := await self._read_line()) is not None:
                text = line.strip()
                if text in ("/quit", "/exit"):
                    break
                if text and not self._local_command(text):
                    await self._ask(inbox, text)
        finally:
            self.context.request_stop()

    async def _read_line(self) -> str | None:
        if self.interactive:
            from prompt_toolkit import PromptSession

            if not hasattr(self, "_session"):
                self._session: PromptSession[str] = PromptSession()
            try:
                return await self._session.prompt_async("you> ")
            except (EOFError, KeyboardInterrupt):
                return None
        line = await asyncio.to_thread(self.stdin.readline)
        return line if line else None

    def _local_command(self, text: str) -> bool:
        """Console-only commands; True when handled here (nothing goes to the bot)."""
        if text == "/debug":
            self.debug = not self.debug
            self._write(f"debug {'on' if self.debug else 'off'}\n")
            return True
        if text == "/help" and self.interactive:  # on a pipe the bot's own /help reply is the one line
            self._write(HELP + "\n")
        return False

    async def _ask(self, inbox: Inbox, text: str) -> None:
        message = Message(
            channel=self.name, conversation_id=self.settings.conversation, user_id=self.user, text=text
        )
        done = self._done[message.id] = asyncio.Event()
        try:
            if await inbox.submit(message) is Submitted.DUPLICATE:
                return
            await asyncio.wait_for(done.wait(), self.settings.reply_timeout)
        except TimeoutError:
            self._write("(no reply yet - still working; type again or /quit)\n")
        finally:
            self._done.pop(message.id, None)

    async def send(self, reply: ReplyStream) -> None:
        if self.settings.output == "jsonl":
            await reply.collect()  # written whole in delivered(), with what produced it
            return
        if self.interactive:
            self._write("bot> ")
        async for delta in reply:
            self._write(delta if self.interactive else escape_line(delta))
        self._write("\n")

    async def delivered(self, message: Message, reply: Reply) -> None:
        if self.settings.output == "jsonl":
            self._write(as_json_line(message, reply) + "\n")
        if self.debug:
            self._write(describe(message, reply) + "\n")
        done = self._done.get(message.id)
        if done is not None:
            done.set()

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()


def escape_line(text: str) -> str:
    """A reply on one line, reversibly: backslash, newline and carriage return written as escapes."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def as_json_line(message: Message, reply: Reply) -> str:
    """One reply for `--jsonl`: the text, what produced it, the model version and the tags."""
    tags = {name: {"label": a.label, "confidence": a.confidence} for name, a in message.annotations.items()}
    return json.dumps(
        {
            "text": reply.text,
            "source": reply.source,
            "model_version": reply.model_version,
            "annotations": tags,
            "message_id": message.id,
        },
        ensure_ascii=False,
    )


def describe(message: Message, reply: Reply) -> str:
    """The /debug line: tags, per-stage latency, what produced the reply."""
    tags = " ".join(f"{name}={a.label}({a.confidence:.2f})" for name, a in message.annotations.items())
    stages = " ".join(f"{stage}={seconds * 1000:.0f}ms" for stage, seconds in reply.latency.items())
    return (
        f"  [tags: {tags or 'none'} | latency: {stages or 'n/a'} | "
        f"source: {reply.source} | model: {reply.model_version or '-'}]"
    )


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "console-user"
