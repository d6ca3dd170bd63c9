"""The `entities` NLU plugin: tags each message with entities from a token-classification ONNX model.

Entities arrive in `message.annotations["entities"].data["entities"]` as plain dicts with
label, text, start, end and confidence. Train a model with `interplay train tagger`.
Importing this package stays light: onnxruntime and tokenizers load with the model.
"""

from __future__ import annotations

from typing import Any

from interplay.core import Register, hookimpl

from .analyzer import EntitiesAnalyzer, EntitiesSettings

__all__ = ["EntitiesAnalyzer", "EntitiesSettings"]


@hookimpl
def register_analyzers(register: Register, config: Any) -> None:
    register(EntitiesAnalyzer)
