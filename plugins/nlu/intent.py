"""The `intent` analyzer: which of the trained intents a message expresses, or `oos`."""

from __future__ import annotations

from typing import Any

from interplay.core import ModelHome, Register, hookimpl

from .analyzer import ClassifierAnalyzer, ClassifierSettings


class IntentSettings(ClassifierSettings):
    """`[plugins.intent]`: the shared keys plus the out-of-scope fallback."""

    # default: the threshold in the model's manifest, in its `oos_score` units (a probability 0..1,
    # or for "energy" models a log-sum-exp of logits: see docs/nlu.md)
    threshold: float | None = None
    oos_label: str = "oos"


class IntentAnalyzer(ClassifierAnalyzer):
    """Labels each message with an intent; below the confidence threshold it says `oos`."""

    name = "intent"
    Settings = IntentSettings
    model_home = ModelHome("intent")
    provides = "intent"  # routes skills unless [pipeline] routing_analyzer names another

    settings: IntentSettings

    def __init__(self, settings: IntentSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.oos_label = settings.oos_label

    def _threshold(self) -> float | None:
        return self.settings.threshold


@hookimpl
def register_analyzers(register: Register, config: Any) -> None:
    register(IntentAnalyzer)
