"""Load an ONNX model directory for serving: manifest, ONNX Runtime session and tokenizer.

Shared by every ONNX analyzer (sequence and token classification); torch is never needed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.core.model_dir import Device, ModelManifest, providers_for, read_manifest

log = logging.getLogger("interplay.nlu")
__all__ = ["Device", "OnnxModel", "create_session", "load_tokenizer"]


def create_session(path: Path, *, threads: int = 1, device: Device = "auto") -> Any:
    """An InferenceSession sized on purpose: `threads` intra-op threads, one inter-op thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers_for(device))
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"ONNX Runtime cannot load {path}: {exc}; re-export the model") from exc


def _pad_token(directory: Path) -> str:
    """The pad token named by the saved tokenizer files ("[PAD]" when they do not say)."""
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = directory / name
        if path.is_file():
            value = json.loads(path.read_text(encoding="utf-8")).get("pad_token")
            if isinstance(value, dict):
                value = value.get("content")
            if value:
                return str(value)
    return "[PAD]"


def load_tokenizer(directory: Path, max_length: int) -> Any:
    """A `tokenizers.Tokenizer` from tokenizer.json that truncates and pads to the batch's longest."""
    from tokenizers import Tokenizer

    path = directory / "tokenizer.json"
    if not path.is_file():
        raise ModelError(f"{path} is missing: the model directory needs a fast tokenizer; re-export it")
    tokenizer = Tokenizer.from_file(str(path))
    pad = _pad_token(directory)
    pad_id = tokenizer.token_to_id(pad)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token=pad)
    return tokenizer


class OnnxModel:
    """A loaded model directory: encodes texts and runs the ONNX graph, returning raw outputs."""

    def __init__(self, directory: Path, *, threads: int = 1, device: Device = "auto") -> None:
        self.directory = Path(directory).expanduser()
        self.manifest: ModelManifest = read_manifest(self.directory)
        model_path = self.directory / self.manifest.model_file
        self.session = create_session(model_path, threads=threads, device=device)
        self.tokenizer = load_tokenizer(self.directory, self.manifest.max_length)
        self.input_names = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Token ids, attention mask (and token types when the graph wants them) as int64 arrays."""
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: value for name, value in feeds.items() if name in self.input_names}

    def run(self, texts: list[str]) -> np.ndarray:
        """The graph's first output (logits) for a batch of texts."""
        if not texts:
            return np.zeros((0, len(self.manifest.labels)), dtype=np.float32)
        return self.session.run(None, self.encode(texts))[0]

    @property
    def version(self) -> str:
        """A short identifier of this model build (kind, precision and creation time)."""
        m = self.manifest
        return f"{m.kind}-{m.precision}-{m.created_at}"
