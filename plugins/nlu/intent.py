"""The `intent` analyzer: which of the trained intents a message expresses, or `oos`."""

from __future__ import annotations

from typing import Any

from interplay.core import hookimpl
from pydantic import Field

from .analyzer import ClassifierAnalyzer, ClassifierSettings


class IntentSettings(ClassifierSettings):
    """`[plugins.intent]`: the shared keys plus the out-of-scope fallback."""

    threshold: float | None = Field(None, ge=0, le=1)  # default: the threshold in the model's manifest
    oos_label: str = "oos"


class IntentAnalyzer(ClassifierAnalyzer):
    """Labels each message with an intent; below the confidence threshold it says `oos`."""

    name = "intent"
    Settings = IntentSettings

    def __init__(self, settings: Any, context: Any) -> None:
        super().__init__(settings, context)
        self.oos_label = settings.oos_label  # type: ignore[misc]

    def _threshold(self) -> float | None:
        return self.settings.threshold  # type: ignore[attr-defined, no-any-return]


@hookimpl
def register_analyzers(register: Any, config: Any) -> None:
    register(IntentAnalyzer)
