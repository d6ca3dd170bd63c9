"""The `sentiment` analyzer: positive or negative (or whatever labels the model was trained on)."""

from __future__ import annotations

from typing import Any

from interplay.core import ModelHome, Register, hookimpl

from .analyzer import ClassifierAnalyzer, ClassifierSettings


class SentimentSettings(ClassifierSettings):
    """`[plugins.sentiment]`: the shared keys (top_k defaults to 2 for a binary model)."""

    top_k: int = 2


class SentimentAnalyzer(ClassifierAnalyzer):
    """Labels each message with its sentiment and the model's confidence."""

    name = "sentiment"
    Settings = SentimentSettings
    model_home = ModelHome("sentiment")
    provides = "sentiment"  # a feedback signal unless [feedback] sentiment_analyzer names another


@hookimpl
def register_analyzers(register: Register, config: Any) -> None:
    register(SentimentAnalyzer)
