"""The `onnx` generator plugin: chat replies from a local ONNX model through ONNX Runtime.

Kept light on purpose: every CLI start imports plugin modules, so onnxruntime and the
tokenizer are imported only when the generator is registered and started.
"""

from __future__ import annotations

from typing import Any

from interplay.core import Register, hookimpl


@hookimpl
def register_generators(register: Register, config: Any) -> None:
    from .generator import OnnxGenerator

    register(OnnxGenerator)
