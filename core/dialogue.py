"""Multi-turn skills with slots: ask for what is missing, check the answer, re-ask, let people cancel.

A `SlotSkill` lists its `slots`. Asked about a message (its matcher matched), it fills what it can from
the entities analyzer, asks for the first missing slot and saves where it stands in the store, per
person and conversation (so two people in one group chat each have their own, and a restart loses
nothing). While it waits, that person's next message comes to it first (`resumes()`): an entity or the
plain answer fills the slot, an answer that fails `Slot.parse` is re-asked with the reason, a cancel
word ends the dialogue, and a confident other intent hands the message on (the person changed topic).
Once every slot is filled, `complete(values, conversation)` gives the reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .contracts import Skill
from .matchers import routing_analyzer
from .messages import Conversation, Message


class InvalidAnswer(ValueError):
    """Raised by `Slot.parse` for an answer it cannot use; the message is shown before the question."""


def _text(answer: str) -> str:
    if not answer.strip():
        raise InvalidAnswer("I need an answer in words.")
    return answer.strip()


@dataclass(frozen=True)
class Slot:
    """One piece of information a skill needs, with the question that asks for it."""

    name: str
    question: str  # "Which place do you want the weather for?"
    entities: tuple[str, ...] = ()  # entity labels that fill it (e.g. "city", "country")
    parse: Callable[[str], Any] = _text  # the typed answer -> the value; raises InvalidAnswer
    required: bool = True  # an optional slot is filled when said, never asked for


CANCEL_WORDS = frozenset({"cancel", "stop", "never mind", "nevermind", "forget it", "quit", "/cancel"})


class SlotSkill(Skill):
    """Base class for a skill that fills slots over several turns, then answers with `complete()`."""

    slots: ClassVar[tuple[Slot, ...]] = ()
    entities_analyzer: str = "entities"  # whose annotation's data["entities"] can fill slots
    entity_min_confidence: float = 0.0
    topic_analyzer: str | None = None  # a confident label here ends the dialogue; None: the routing analyzer
    topic_confidence: float = 0.8
    cancel_words: frozenset[str] = CANCEL_WORDS
    cancelled_reply: str = "OK, let's leave that."
    max_attempts: int = 3  # unusable answers to one question before the skill gives up
    gave_up_reply: str = "I still could not use that, so let's leave it. Ask again any time."
    expires_after: float = 3600.0  # seconds: an unanswered question is forgotten after this

    async def complete(self, values: Mapping[str, Any], conversation: Conversation) -> str:
        """The reply once every required slot is filled."""
        raise NotImplementedError

    # -- the dialogue --------------------------------------------------------------------------
    async def resumes(self, conversation: Conversation) -> bool:
        return await self._load(conversation.message) is not None

    async def answer(self, conversation: Conversation) -> str | None:
        message = conversation.message
        state = await self._load(message)
        values: dict[str, Any] = dict(state["values"]) if state else {}
        found = self.entity_values(message)
        if state is None:
            values.update(found)
        else:
            asking = self._slot(state["asking"])
            if self._cancels(message.text):
                await self._save(message, None)
                return self.cancelled_reply
            values.update(found)
            if asking.name not in found:
                if self.changes_topic(message):
                    await self._save(message, None)
                    return None  # the next skill or the generator answers the new topic
                try:
                    values[asking.name] = asking.parse(message.text)
                except InvalidAnswer as why:
                    return await self._reask(message, state, values, asking, str(why))
        return await self._next(conversation, values)

    async def _next(self, conversation: Conversation, values: dict[str, Any]) -> str:
        missing = next((s for s in self.slots if s.required and s.name not in values), None)
        if missing is None:
            await self._save(conversation.message, None)
            return await self.complete(values, conversation)
        await self._save(conversation.message, {"asking": missing.name, "values": values, "attempts": 0})
        return self.question(missing, values)

    async def _reask(
        self, message: Message, state: dict[str, Any], values: dict[str, Any], slot: Slot, why: str
    ) -> str:
        attempts = int(state.get("attempts", 0)) + 1
        if attempts >= self.max_attempts:
            await self._save(message, None)
            return self.gave_up_reply
        await self._save(message, {"asking": slot.name, "values": values, "attempts": attempts})
        return f"{why} {self.question(slot, values)}"

    def question(self, slot: Slot, values: Mapping[str, Any]) -> str:
        """How to ask for a slot; override to mention what is known already."""
        return slot.question

    def entity_values(self, message: Message) -> dict[str, Any]:
        """Slot values from the entities analyzer: the first entity with one of a slot's labels."""
        annotation = message.annotations.get(self.entities_analyzer)
        entities = annotation.data.get("entities", []) if annotation else []
        values: dict[str, Any] = {}
        for slot in self.slots:
            for entity in entities:
                if entity.get("label") not in slot.entities or slot.name in values:
                    continue
                if float(entity.get("confidence", 1.0)) < self.entity_min_confidence:
                    continue
                try:
                    values[slot.name] = slot.parse(str(entity["text"]))
                except InvalidAnswer:
                    continue
        return values

    def changes_topic(self, message: Message) -> bool:
        """True when the message confidently belongs elsewhere: another intent, or another skill's command."""
        if message.text.lstrip().startswith("/"):
            return self.match(message) is None
        annotation = message.annotations.get(self.topic_analyzer or routing_analyzer())
        if annotation is None or annotation.confidence < self.topic_confidence:
            return False
        return self.match(message) is None

    def _cancels(self, text: str) -> bool:
        return text.strip().lower().rstrip(".!") in self.cancel_words

    def _slot(self, name: str) -> Slot:
        return next(s for s in self.slots if s.name == name)

    # -- state in the store --------------------------------------------------------------------
    async def _load(self, message: Message) -> dict[str, Any] | None:
        state = await self.context.store.load_state(message.conversation_id, message.user_id, self.name)
        if state is None:
            return None
        stale = time.time() - float(state.get("since", 0)) > self.expires_after
        known = any(s.name == state.get("asking") for s in self.slots)  # the skill may have changed
        return None if stale or not known else state

    async def _save(self, message: Message, state: dict[str, Any] | None) -> None:
        if state is not None:
            state = {**state, "since": time.time()}
        await self.context.store.save_state(message.conversation_id, message.user_id, self.name, state)


__all__ = ["CANCEL_WORDS", "InvalidAnswer", "Slot", "SlotSkill"]
