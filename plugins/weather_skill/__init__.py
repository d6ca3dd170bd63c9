"""The `weather` skill: answers weather questions from the entities the `entities` analyzer found.

It makes no network call. It says what it understood (place, time, condition) so the path from
tagged spans to an action is visible. It is a `SlotSkill` (core/dialogue.py): with no place it asks
"Which place ...?", and the person's next message answers it ("Lisbon"), re-asked when it cannot be a
place, dropped on "cancel" or a confident change of topic. `/weather Lisbon` asks directly. A
deployment with a forecast service would replace `compose()` with a lookup on the same slots.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from interplay.core import Command, Conversation, Intent, Message, PluginSettings, hookimpl
from interplay.core.dialogue import InvalidAnswer, Slot, SlotSkill
from pydantic import Field

# SNIPS slot names; a model trained on other data maps its own names through `place_labels`, ...
PLACE_LABELS = ["city", "state", "country", "geographic_poi", "current_location"]
TIME_LABELS = ["timeRange"]
CONDITION_LABELS = ["condition_description", "condition_temperature"]


class WeatherSettings(PluginSettings):
    """`[plugins.weather]`."""

    intents: list[str] = Field(default_factory=lambda: ["GetWeather"])  # empty: asked for every message
    intent_analyzer: str = ""  # whose label `intents` are; "": [pipeline] routing_analyzer
    intent_min_confidence: float = Field(0.0, ge=0, le=1)
    commands: list[str] = Field(default_factory=lambda: ["weather"])  # `/weather Lisbon` works too
    analyzer: str = "entities"  # whose annotation holds the entities
    place_labels: list[str] = Field(default_factory=lambda: list(PLACE_LABELS))
    time_labels: list[str] = Field(default_factory=lambda: list(TIME_LABELS))
    condition_labels: list[str] = Field(default_factory=lambda: list(CONDITION_LABELS))
    min_confidence: float = Field(0.0, ge=0, le=1)  # ignore entities the tagger was less sure of
    change_topic_confidence: float = Field(0.8, ge=0, le=1)  # another intent this sure ends the question


@dataclass
class WeatherRequest:
    """The slots of one weather question."""

    places: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


def read_request(entities: Sequence[Mapping[str, Any]], s: WeatherSettings) -> WeatherRequest:
    """Sort the entities into place, time and condition slots, in the order they were said."""
    request = WeatherRequest()
    for e in entities:
        if float(e.get("confidence", 1.0)) < s.min_confidence:
            continue
        text, label = str(e["text"]).strip(), e["label"]
        if label in s.place_labels:
            request.places.append(text)
        elif label in s.time_labels:
            request.times.append(text)
        elif label in s.condition_labels:
            request.conditions.append(text)
    return request


def parse_place(answer: str) -> list[str]:
    """A typed answer to "Which place?": "Lisbon", "in Lisbon"; refuses what cannot be a place name."""
    text = re.sub(r"^(in|at|for)\s+", "", answer.strip().rstrip(".!?"), flags=re.IGNORECASE).strip()
    if not text:
        raise InvalidAnswer("I did not catch a place.")
    if len(text) > 60 or not any(ch.isalpha() for ch in text):
        raise InvalidAnswer(f"{text[:60]!r} does not look like a place name.")
    return [text]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compose(request: WeatherRequest) -> str:
    """The reply: what was understood, and that no live forecast is available here."""
    if not request.places:
        when = f" {_join(request.times)}" if request.times else ""
        return f"Which place do you want the weather for{when}?"
    understood = f"the weather in {_join(request.places)}"
    if request.times:
        understood += f" {_join(request.times)}"
    if request.conditions:
        understood += f" (asking about: {_join(request.conditions)})"
    return f"I understood: {understood}. I have no forecast service connected, so I cannot look it up."


class WeatherSkill(SlotSkill):
    """Answers weather intents from the tagged entities, asking for the place when none was said."""

    name = "weather"
    Settings: ClassVar[type[PluginSettings]] = WeatherSettings
    slots = (
        Slot("place", "Which place do you want the weather for?", parse=parse_place),
        Slot("time", "", required=False),
        Slot("condition", "", required=False),
    )

    def __init__(self, settings: PluginSettings, context: Any) -> None:
        super().__init__(settings, context)
        assert isinstance(settings, WeatherSettings)
        self.entities_analyzer = settings.analyzer
        self.topic_analyzer = settings.intent_analyzer
        self.topic_confidence = settings.change_topic_confidence
        if settings.intents:  # no intents: asked about every message, answering only weather-like ones
            intent = Intent(
                *settings.intents,
                analyzer=settings.intent_analyzer,
                min_confidence=settings.intent_min_confidence,
            )
            self.matcher = Command(*settings.commands) | intent if settings.commands else intent

    async def answer(self, conversation: Conversation) -> str | None:
        """A reply built from the entities; None (pass) when the entities analyzer gave nothing."""
        s = self.settings
        assert isinstance(s, WeatherSettings)
        match, message = conversation.match, conversation.message
        resuming = match is not None and match.kind == "resume"
        if not resuming and match is not None and match.kind != "command":
            if message.annotations.get(s.analyzer) is None:
                return None  # analyzer off or timed out: let the next skill or the generator answer
            if not self.matcher and not self.entity_values(message):
                return None  # asked for every message: speak only when something weather-like was said
        if match is not None and match.kind == "command" and match.args and not self.entity_values(message):
            conversation = replace(conversation, message=replace(message, text=match.args))
            return await self._answer_command(conversation)
        return await super().answer(conversation)

    async def _answer_command(self, conversation: Conversation) -> str | None:
        """`/weather Lisbon`: the command's argument is the place."""
        try:
            return await self.complete({"place": parse_place(conversation.message.text)}, conversation)
        except InvalidAnswer as why:
            return f"{why} {self.slots[0].question}"

    def entity_values(self, message: Message) -> dict[str, Any]:
        """Every place, time and condition said (several places make one answer)."""
        s = self.settings
        assert isinstance(s, WeatherSettings)
        annotation = message.annotations.get(s.analyzer)
        request = read_request(annotation.data.get("entities", []) if annotation else [], s)
        found = {"place": request.places, "time": request.times, "condition": request.conditions}
        return {name: values for name, values in found.items() if values}

    def question(self, slot: Slot, values: Mapping[str, Any]) -> str:
        times = values.get("time") or []
        return f"Which place do you want the weather for {_join(times)}?" if times else slot.question

    async def complete(self, values: Mapping[str, Any], conversation: Conversation) -> str:
        request = WeatherRequest(
            list(values.get("place", [])), list(values.get("time", [])), list(values.get("condition", []))
        )
        return compose(request)


@hookimpl
def register_skills(register: Any, config: Any) -> None:
    register(WeatherSkill)
