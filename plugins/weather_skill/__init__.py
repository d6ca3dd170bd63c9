"""The `weather` skill: answers weather questions from the entities the `entities` analyzer found.

It makes no network call. It says what it understood (place, time, condition) so the path from
tagged spans to an action is visible, and asks for the place when none was found. A deployment
with a forecast service would replace `compose()` with a lookup on the same slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from interplay.core import Conversation, PluginSettings, Skill, hookimpl
from pydantic import Field

# SNIPS slot names; a model trained on other data maps its own names through `place_labels`, ...
PLACE_LABELS = ["city", "state", "country", "geographic_poi", "current_location"]
TIME_LABELS = ["timeRange"]
CONDITION_LABELS = ["condition_description", "condition_temperature"]


class WeatherSettings(PluginSettings):
    """`[plugins.weather]`."""

    intents: list[str] = Field(default_factory=lambda: ["GetWeather"])  # empty: asked for every message
    analyzer: str = "entities"  # whose annotation holds the entities
    place_labels: list[str] = Field(default_factory=lambda: list(PLACE_LABELS))
    time_labels: list[str] = Field(default_factory=lambda: list(TIME_LABELS))
    condition_labels: list[str] = Field(default_factory=lambda: list(CONDITION_LABELS))
    min_confidence: float = Field(0.0, ge=0, le=1)  # ignore entities the tagger was less sure of


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


class WeatherSkill(Skill):
    """Answers weather intents from the tagged entities, without any network call."""

    name = "weather"
    Settings: ClassVar[type[PluginSettings]] = WeatherSettings

    def __init__(self, settings: PluginSettings, context: Any) -> None:
        super().__init__(settings, context)
        # the pipeline routes on `intents`; here they come from config rather than the class
        self.intents = frozenset(getattr(settings, "intents", ()))  # type: ignore[misc]

    async def answer(self, conversation: Conversation) -> str | None:
        """A reply built from the entities; None (pass) when the entities analyzer gave nothing."""
        s = self.settings
        assert isinstance(s, WeatherSettings)
        annotation = conversation.message.annotations.get(s.analyzer)
        if annotation is None:
            return None  # analyzer off or timed out: let the next skill or the generator answer
        request = read_request(annotation.data.get("entities", []), s)
        if not self.intents and not (request.places or request.times or request.conditions):
            return None  # asked for every message: speak only when something weather-like was said
        return compose(request)


@hookimpl
def register_skills(register: Any, config: Any) -> None:
    register(WeatherSkill)
