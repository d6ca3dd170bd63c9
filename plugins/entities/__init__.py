"""The `entities` NLU plugin: tags each message with entities from a token-classification ONNX model.

Entities arrive in `message.annotations["entities"].data["entities"]` as plain dicts with
label, text, start, end and confidence. Train a model with `interplay train tagger`.
Importing this package stays light: onnxruntime and tokenizers load with the model.

Public API (`__all__`; the submodules are internal): the analyzer and its settings, the runtime
tagger the trainer checks its exports with (`OnnxTokenTagger`), and the BIO span codec that
training and serving must share (`Span`, `IGNORE`, `bio_labels`, `words`, `word_tags`,
`token_label_ids`, `decode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interplay.core import Register, hookimpl
from interplay.core.lazy_api import lazy_exports

from .analyzer import EntitiesAnalyzer, EntitiesSettings
from .spans import IGNORE, Span, bio_labels, decode, token_label_ids, word_tags, words

if TYPE_CHECKING:
    from .tagger import OnnxTokenTagger

__all__ = [
    "IGNORE",
    "EntitiesAnalyzer",
    "EntitiesSettings",
    "OnnxTokenTagger",
    "Span",
    "bio_labels",
    "decode",
    "token_label_ids",
    "word_tags",
    "words",
]
_lazy = lazy_exports(__name__, {"OnnxTokenTagger": "tagger"})


def __getattr__(name: str) -> Any:
    return _lazy(name)


@hookimpl
def register_analyzers(register: Register, config: Any) -> None:
    register(EntitiesAnalyzer)
