"""Matchers: which messages a skill is asked about, declared instead of hand-written.

`Command("weather")`, `Regex(r"weather in (?P<place>\\w+)")` and `Intent("GetWeather", min_confidence=0.6)`
each look at one message and return a `Match` (or None). `a | b` matches when either does (the first
one's result wins), `a & b` when both do (their fields merged, each part kept in `Match.parts`).
The pipeline hands the result to the skill as `conversation.match`.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import replace
from types import MappingProxyType

from .messages import Match, Message

# the analyzer `[pipeline] routing_analyzer` resolved to, set by `Skill.match` while a matcher runs;
# unset (a matcher called outside a pipeline): "intent", as before routing_analyzer existed
ROUTING_ANALYZER: ContextVar[str | None] = ContextVar("interplay_routing_analyzer", default=None)
LEGACY_ROUTING_ANALYZER = "intent"


def routing_analyzer() -> str:
    """The analyzer `Intent(analyzer=None)` reads: the routing analyzer while a skill is matched."""
    current = ROUTING_ANALYZER.get()
    return LEGACY_ROUTING_ANALYZER if current is None else current


class Matcher:
    """Base class: `match(message)` returns a Match or None; `|` and `&` combine matchers."""

    def match(self, message: Message) -> Match | None:
        raise NotImplementedError

    def __or__(self, other: Matcher) -> AnyOf:
        return AnyOf(self, other)

    def __and__(self, other: Matcher) -> AllOf:
        return AllOf(self, other)


class Command(Matcher):
    """`/name args` (also `/name@BotName`, as Telegram groups send it); the name is case-insensitive."""

    def __init__(self, *names: str, prefixes: tuple[str, ...] = ("/",)) -> None:
        if not names:
            raise ValueError("Command() needs at least one command name")
        self.names = frozenset(n.lower().lstrip("/") for n in names)
        self.prefixes = prefixes

    def match(self, message: Message) -> Match | None:
        text = message.text.strip()
        prefix = next((p for p in self.prefixes if text.startswith(p)), None)
        if prefix is None:
            return None
        word, _, args = text[len(prefix) :].partition(" ")
        name = word.split("@", 1)[0].lower()
        if name not in self.names:
            return None
        return Match("command", command=name, args=args.strip())

    def __repr__(self) -> str:
        return f"Command({', '.join(map(repr, sorted(self.names)))})"


class Regex(Matcher):
    """A regular expression searched in the text (case-insensitive unless `flags` say otherwise)."""

    def __init__(self, pattern: str | re.Pattern[str], flags: int = re.IGNORECASE) -> None:
        self.pattern = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)

    def match(self, message: Message) -> Match | None:
        found = self.pattern.search(message.text)
        if found is None:
            return None
        named = MappingProxyType(found.groupdict())
        return Match("regex", args=found.group(0), groups=found.groups(), named=named)

    def __repr__(self) -> str:
        return f"Regex({self.pattern.pattern!r})"


class Intent(Matcher):
    """One of these labels from an analyzer, at or above a confidence floor.

    `analyzer=None` (the default): the analyzer `[pipeline] routing_analyzer` resolved to, read when the
    pipeline matches a skill (outside a pipeline: "intent"). Name one to read another analyzer's labels.
    """

    def __init__(self, *labels: str, analyzer: str | None = None, min_confidence: float = 0.0) -> None:
        if not labels:
            raise ValueError("Intent() needs at least one label")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, not {min_confidence}")
        self.labels = frozenset(labels)
        self.analyzer = analyzer
        self.min_confidence = min_confidence

    def match(self, message: Message) -> Match | None:
        annotation = message.annotations.get(self.analyzer or routing_analyzer())
        if annotation is None or annotation.label not in self.labels:
            return None
        if annotation.confidence < self.min_confidence:
            return None
        return Match("intent", args=message.text, label=annotation.label, confidence=annotation.confidence)

    def __repr__(self) -> str:
        floor = f", min_confidence={self.min_confidence}" if self.min_confidence else ""
        analyzer = f", analyzer={self.analyzer!r}" if self.analyzer else ""
        return f"Intent({', '.join(map(repr, sorted(self.labels)))}{analyzer}{floor})"


class AnyOf(Matcher):
    """The first of its matchers that matches."""

    def __init__(self, *matchers: Matcher) -> None:
        self.matchers = tuple(matchers)

    def match(self, message: Message) -> Match | None:
        for matcher in self.matchers:
            if (found := matcher.match(message)) is not None:
                return found
        return None

    def __or__(self, other: Matcher) -> AnyOf:
        return AnyOf(*self.matchers, other)

    def __repr__(self) -> str:
        return " | ".join(map(repr, self.matchers))


class AllOf(Matcher):
    """Every one of its matchers: the fields they found, merged (later ones fill what earlier left empty)."""

    def __init__(self, *matchers: Matcher) -> None:
        self.matchers = tuple(matchers)

    def match(self, message: Message) -> Match | None:
        parts: list[Match] = []
        for matcher in self.matchers:
            if (found := matcher.match(message)) is None:
                return None
            parts.append(found)
        return _merge(parts)

    def __and__(self, other: Matcher) -> AllOf:
        return AllOf(*self.matchers, other)

    def __repr__(self) -> str:
        return " & ".join(f"({m!r})" if isinstance(m, AnyOf) else repr(m) for m in self.matchers)


def _merge(parts: list[Match]) -> Match:
    merged = Match("all", parts=tuple(parts))
    for part in parts:
        merged = replace(
            merged,
            command=merged.command or part.command,
            args=part.args if part.kind == "command" or not merged.args else merged.args,
            groups=merged.groups or part.groups,
            named=merged.named or part.named,
            label=merged.label or part.label,
            confidence=min(merged.confidence, part.confidence),
        )
    return merged


ALWAYS = Match("any")  # a skill without matcher or intents is asked about every message


__all__ = ["ALWAYS", "AllOf", "AnyOf", "Command", "Intent", "Match", "Matcher", "Regex"]
