"""Built-in NLU analyzers (`intent`, `sentiment`) served from ONNX model directories.

Public API (`__all__`, what the trainer and other ONNX analyzers may import from this package;
the submodules are internal): the runtime classifier the trainer checks its exports with
(`OnnxTextClassifier`, `oos_confidence`, `OosScore`, `softmax`) and the shared loading code
(`create_session`, `load_tokenizer`, `OnnxModel`, `MicroBatcher`). Importing this package stays
light: each name is imported on first use, onnxruntime and tokenizers when a model is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interplay.core.lazy_api import lazy_exports

if TYPE_CHECKING:
    from .batching import MicroBatcher
    from .classifier import OnnxTextClassifier, OosScore, oos_confidence, softmax
    from .model_dir import OnnxModel, create_session, load_tokenizer

_EXPORTS = {
    "MicroBatcher": "batching",
    "OnnxModel": "model_dir",
    "OnnxTextClassifier": "classifier",
    "OosScore": "classifier",
    "create_session": "model_dir",
    "load_tokenizer": "model_dir",
    "oos_confidence": "classifier",
    "softmax": "classifier",
}
__all__ = [
    "MicroBatcher",
    "OnnxModel",
    "OnnxTextClassifier",
    "OosScore",
    "create_session",
    "load_tokenizer",
    "oos_confidence",
    "softmax",
]
_lazy = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    return _lazy(name)
