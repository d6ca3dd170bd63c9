"""Implicit feedback: weak labels for a reply, read from the user's next message.

Two signals, both computed from what the NLU analyzers and the text already say, so they cost
nothing on the hot path unless they fire:

- sentiment: the next message is confidently positive or negative (the `sentiment` analyzer);
- rephrase: the next message says the previous one again in other words, a sign the reply
  missed the point.

Each becomes a `Feedback` with `kind="implicit:<signal>"` and the configured `weight`
(an explicit /good or /bad weighs 1.0), so training can trust them less than explicit ratings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .config import FeedbackSettings
from .messages import Annotation, Feedback, Message, Turn
from .store.base import ConversationStore

log = logging.getLogger("interplay.signals")
_WORD = re.compile(r"[\w']+")
MIN_REPHRASE_WORDS = 3  # "ok" after "ok" is agreement, not a rephrase


@dataclass(frozen=True)
class Signal:
    """One weak judgement of the previous reply."""

    kind: str
    score: float
    weight: float


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _trigrams(text: str) -> set[str]:
    squashed = " ".join(words(text))
    return {squashed[i : i + 3] for i in range(max(0, len(squashed) - 2))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(a: str, b: str) -> float:
    """0..1: the mean of word-set and character-trigram overlap (robust to small rewordings)."""
    return (_jaccard(set(words(a)), set(words(b))) + _jaccard(_trigrams(a), _trigrams(b))) / 2


def _confident(annotation: Annotation | None, threshold: float) -> str | None:
    return annotation.label if annotation is not None and annotation.confidence >= threshold else None


class ImplicitSignals:
    """Turns the user's next message into weak labels for the reply before it."""

    def __init__(
        self,
        store: ConversationStore,
        settings: FeedbackSettings,
        routing_analyzer: str = "",
        sentiment_analyzer: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.routing_analyzer = routing_analyzer  # the same confident label makes a looser rephrase
        # whose label is the mood: build_bot resolves [feedback] sentiment_analyzer to an enabled analyzer
        configured = settings.sentiment_analyzer
        self.sentiment_analyzer = configured if sentiment_analyzer is None else sentiment_analyzer

    def signals(self, message: Message, previous: Turn | None, reply: Turn) -> list[Signal]:
        """What `message` says about `reply` (the bot's answer to `previous`)."""
        s = self.settings
        found = []
        mood = _confident(message.annotations.get(self.sentiment_analyzer), s.sentiment_min_confidence)
        if mood in s.positive_labels and s.sentiment_weight > 0:
            found.append(Signal("implicit:sentiment", 1.0, s.sentiment_weight))
        elif mood in s.negative_labels and s.sentiment_weight > 0:
            found.append(Signal("implicit:sentiment", -1.0, s.sentiment_weight))
        if previous is not None and s.rephrase_weight > 0 and self.is_rephrase(message, previous):
            found.append(Signal("implicit:rephrase", -1.0, s.rephrase_weight))
        return found

    def is_rephrase(self, message: Message, previous: Turn) -> bool:
        """The new message repeats the previous one in other words, soon after it."""
        s = self.settings
        if previous.time and message.time - previous.time > s.rephrase_window:
            return False
        if len(words(message.text)) < MIN_REPHRASE_WORDS:
            return False
        score = similarity(message.text, previous.text)
        routing = self.routing_analyzer
        intent = _confident(message.annotations.get(routing), s.sentiment_min_confidence)
        if intent is not None and intent == _confident(previous.annotations.get(routing), 0.0):
            score += (1.0 - score) / 2  # the same confident intent makes a looser wording count
        return score >= s.rephrase_similarity

    async def observe(self, message: Message, history: tuple[Turn, ...]) -> list[Feedback]:
        """Store weak labels for the last reply in `history`; never raises (the reply matters more)."""
        if not self.settings.implicit or not history or history[-1].role != "assistant":
            return []
        reply = history[-1]
        previous = history[-2] if len(history) > 1 and history[-2].role == "user" else None
        try:
            found = self.signals(message, previous, reply)
            if not found:
                return []
            stored = await self.store.get_reply(reply.id)
            version = stored.model_version if stored else None
            feedback = [
                Feedback(reply.id, message.conversation_id, message.user_id, sig.score, sig.kind,
                         message.channel, version, sig.weight)
                for sig in found
            ]
            for item in feedback:
                await self.store.add_feedback(item)
            return feedback
        except Exception:
            log.exception("implicit feedback failed for message %s", message.id)
            return []
