"""The `onnx` generator plugin: chat replies from a local ONNX model through ONNX Runtime.

Kept light on purpose: every CLI start imports plugin modules, so onnxruntime and the
tokenizer are imported only when the generator is registered and started.

Public API (`__all__`, imported on first use; the other submodules are internal): what the
trainer shares with the runtime so that what it trains, gates and exports is what the plugin
serves: the model directory layout (`model_dir`: `PRECISIONS`, `choose_precision`, `resolve`,
`read_manifest`), the decoder (`DecoderSession`), the batch engine (`BatchEngine`, `Request`,
`FINISH`) and sampling (`SamplingParams`), the chat template (`load_tokenizer`, `encode_chat`,
`encode_plain`) and the settings (`OnnxGeneratorSettings`, `DEFAULT_SYSTEM_PROMPT`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interplay.core import Register, hookimpl
from interplay.core.lazy_api import lazy_exports

if TYPE_CHECKING:
    from . import model_dir
    from .engine import FINISH, BatchEngine, Request
    from .generator import OnnxGenerator, load_tokenizer
    from .sampling import SamplingParams
    from .session import DecoderSession
    from .settings import DEFAULT_SYSTEM_PROMPT, OnnxGeneratorSettings
    from .tokenizer import encode_chat, encode_plain

_EXPORTS = {
    "BatchEngine": "engine",
    "DEFAULT_SYSTEM_PROMPT": "settings",
    "DecoderSession": "session",
    "FINISH": "engine",
    "OnnxGenerator": "generator",
    "OnnxGeneratorSettings": "settings",
    "Request": "engine",
    "SamplingParams": "sampling",
    "encode_chat": "tokenizer",
    "encode_plain": "tokenizer",
    "load_tokenizer": "generator",
    "model_dir": "model_dir",
}
__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "FINISH",
    "BatchEngine",
    "DecoderSession",
    "OnnxGenerator",
    "OnnxGeneratorSettings",
    "Request",
    "SamplingParams",
    "encode_chat",
    "encode_plain",
    "load_tokenizer",
    "model_dir",
]
_lazy = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    return _lazy(name)


@hookimpl
def register_generators(register: Register, config: Any) -> None:
    from .generator import OnnxGenerator

    register(OnnxGenerator)
