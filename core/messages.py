"""Data that crosses plugin boundaries: frozen, typed, cheap to copy."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

Role = Literal["user", "assistant"]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


def new_id() -> str:
    """A fresh, URL-safe unique id."""
    return os.urandom(16).hex()  # as unique as uuid4, several times cheaper on the hot path


@dataclass(frozen=True, slots=True)
class Annotation:
    """What one analyzer says about a message (an intent, a sentiment, entities...)."""

    analyzer: str
    label: str
    confidence: float = 1.0
    top: tuple[tuple[str, float], ...] = ()
    data: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound message from a person, as a channel hands it to the core.

    `external_id` is the channel's own id (Telegram update_id, Slack event_id) and is the
    deduplication key together with `channel`. `meta` carries channel details the channel
    needs to answer (chat type, thread, reply target); the core never interprets it.
    """

    channel: str
    conversation_id: str
    user_id: str
    text: str
    external_id: str | None = None
    id: str = field(default_factory=new_id)
    time: float = field(default_factory=time.time)
    annotations: Mapping[str, Annotation] = field(default_factory=_empty)
    meta: Mapping[str, Any] = field(default_factory=_empty)

    def annotated(self, annotations: Mapping[str, Annotation]) -> Message:
        """A copy with these annotations added (keyed by analyzer name)."""
        merged = {**self.annotations, **annotations}
        return replace(self, annotations=MappingProxyType(merged))

    @property
    def intent(self) -> str | None:
        """Deprecated: the label of the analyzer named `intent`; read `annotations[<analyzer name>]`."""
        warnings.warn(
            "Message.intent reads the analyzer named 'intent' whatever routes skills; read "
            "message.annotations[name] (Skill.match gets the routing analyzer's name)",
            DeprecationWarning,
            stacklevel=2,
        )
        ann = self.annotations.get("intent")
        return ann.label if ann else None


SourceKind = Literal["generator", "skill", "command", "fallback", "busy", "limited"]
RATED_KINDS = frozenset({"generator", "skill"})  # what the people rating a reply can teach the bot about


class ReplySource(str):
    """What produced a reply: `ReplySource("generator", "onnx")`, `ReplySource("busy")`.

    A `str` ("generator:onnx", "busy") so it is stored, logged and compared as before; `kind` and
    `name` read it without splitting strings. `rated` is the one rule for rating buttons in every
    channel: only replies a generator or a skill produced, which the core stores with the message.
    """

    __slots__ = ()

    def __new__(cls, kind: str, name: str = "") -> ReplySource:
        return super().__new__(cls, f"{kind}:{name}" if name else kind)

    @classmethod
    def parse(cls, value: str) -> ReplySource:
        """`"skill:weather"` (as stored) -> ReplySource("skill", "weather")."""
        if isinstance(value, ReplySource):
            return value
        kind, _, name = value.partition(":")
        return cls(kind, name)

    @property
    def kind(self) -> str:
        return self.partition(":")[0]

    @property
    def name(self) -> str:
        """The plugin or command that produced it ("" for fallback, busy and limited replies)."""
        return self.partition(":")[2]

    @property
    def rated(self) -> bool:
        """Whether the channel offers rating buttons (never for commands, fallback, busy or limited)."""
        return self.kind in RATED_KINDS


@dataclass(frozen=True, slots=True)
class Reply:
    """One outbound reply, as stored: which message it answers and what produced it."""

    message_id: str
    conversation_id: str
    channel: str
    text: str
    source: str
    id: str = field(default_factory=new_id)
    model_version: str | None = None
    time: float = field(default_factory=time.time)
    latency: Mapping[str, float] = field(default_factory=_empty)
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Feedback:
    """A judgement of one reply: explicit (buttons, /good) or implicit (a weak label)."""

    reply_id: str
    conversation_id: str
    user_id: str
    score: float
    kind: str = "explicit"
    channel: str = ""
    model_version: str | None = None
    weight: float = 1.0
    id: str = field(default_factory=new_id)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a conversation's history."""

    role: Role
    text: str
    id: str
    time: float = 0.0
    annotations: Mapping[str, Annotation] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Match:
    """Why a skill was asked about a message: what its matcher found (see `interplay.core.matchers`).

    Fields a matcher did not fill keep their defaults; an all-of match carries every part's fields.
    """

    kind: str  # "command", "regex", "intent", "all", "any" (no matcher) or "resume" (a dialogue goes on)
    command: str | None = None  # the command word, without its prefix
    args: str = ""  # the text after the command, or the whole text
    groups: tuple[str | None, ...] = ()  # a regex's groups
    named: Mapping[str, str | None] = field(default_factory=_empty)  # a regex's named groups
    label: str | None = None  # the analyzer label that matched
    confidence: float = 1.0
    parts: tuple[Match, ...] = ()  # what each matcher of an all-of found


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a skill or generator sees: earlier turns, oldest first, and the newest message."""

    id: str
    message: Message
    history: tuple[Turn, ...] = ()
    match: Match | None = None  # for a skill: what its matcher found; None for the generator
