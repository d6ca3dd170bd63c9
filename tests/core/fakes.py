"""Small plugins for core tests, configured through their Settings like real ones."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator

from interplay.core import (
    Analyzer,
    Annotation,
    Conversation,
    Generator,
    Message,
    PluginSettings,
    Skill,
    hookimpl,
)

SEEN: dict[str, list[str]] = defaultdict(list)  # conversation -> texts in the order generated


class Knobs(PluginSettings):
    fail_on: str = ""  # raise when the message text equals this
    hang_on: str = ""  # never finish when the text equals this
    max_delay: float = 0.0  # random delay per call
    slow_conversation: str = ""
    slow_seconds: float = 0.0


async def _behave(knobs: Knobs, message: Message) -> None:
    if knobs.fail_on and message.text == knobs.fail_on:
        raise RuntimeError("boom")
    if knobs.hang_on and message.text == knobs.hang_on:
        await asyncio.sleep(3600)
    if knobs.slow_conversation and message.conversation_id == knobs.slow_conversation:
        await asyncio.sleep(knobs.slow_seconds)
    if knobs.max_delay:
        await asyncio.sleep(random.uniform(0, knobs.max_delay))


class LengthAnalyzer(Analyzer):
    name = "length"
    Settings = Knobs

    async def analyze(self, message: Message) -> Annotation:
        await _behave(self.settings, message)  # type: ignore[arg-type]
        return Annotation(self.name, "long" if len(message.text) > 10 else "short", 0.9)


class IntentAnalyzer(Analyzer):
    name = "intent"
    provides = "intent"
    Settings = Knobs

    async def analyze(self, message: Message) -> Annotation:
        await _behave(self.settings, message)  # type: ignore[arg-type]
        return Annotation(self.name, "greet" if "hello" in message.text else "other", 0.8)


class GreetSkill(Skill):
    name = "greet"
    Settings = Knobs
    intents = frozenset({"greet"})

    async def answer(self, conversation: Conversation) -> str | None:
        await _behave(self.settings, conversation.message)  # type: ignore[arg-type]
        return "hi there!"


class RecordingGenerator(Generator):
    name = "recording"
    Settings = Knobs

    @property
    def model_version(self) -> str:
        return "rec-1"

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:  # type: ignore[override]
        message = conversation.message
        await _behave(self.settings, message)  # type: ignore[arg-type]
        SEEN[message.conversation_id].append(message.text)
        yield f"reply to {message.text}"
        yield f" (history {len(conversation.history)})"


class FailingStartGenerator(Generator):
    name = "broken-start"

    async def start(self) -> None:
        raise RuntimeError("model file missing")


@hookimpl
def register_analyzers(register):
    register(LengthAnalyzer)
    register(IntentAnalyzer)


@hookimpl
def register_skills(register):
    register(GreetSkill)


@hookimpl
def register_generators(register):
    register(RecordingGenerator)
    register(FailingStartGenerator)
