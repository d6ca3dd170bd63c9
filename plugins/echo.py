"""The `echo` generator: repeats the message back, word by word. For tests and smoke runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from interplay.core import Conversation, Generator, PluginSettings, Register, hookimpl


class EchoSettings(PluginSettings):
    prefix: str = ""
    delay: float = 0.0  # seconds between words, to imitate a model's pace


class EchoGenerator(Generator[EchoSettings]):
    """Streams the user's own words back."""

    name = "echo"
    Settings = EchoSettings

    @property
    def model_version(self) -> str:
        return "echo-1"

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:  # type: ignore[override]
        words = (self.settings.prefix + conversation.message.text).split(" ")
        for i, word in enumerate(words):
            if self.settings.delay:
                await asyncio.sleep(self.settings.delay)
            yield word if i == 0 else " " + word


@hookimpl
def register_generators(register: Register) -> None:
    register(EchoGenerator)
