"""The frozen encoder of embedding-head models: exported once to ONNX (int8), then used to embed texts.

The exported graph (encoder + mean pooling) is cached per base model under a cache directory, so the
intent and sentiment defaults share one export. Texts are embedded by ONNX Runtime with the runtime's
own tokenizer set-up, sorted by length so batches carry little padding.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from interplay.core.model_dir import file_sha256
from interplay.plugins.nlu import create_session, load_tokenizer

from . import embedding_graph as graph
from .export import TOKENIZER_FILES, onnx_export, quantize_int8

log = logging.getLogger("interplay.trainer")
ENCODER_FILE = "encoder.onnx"
STAMP_FILE = "encoder.json"


def _stamp(base: str, quantize: bool) -> dict[str, str]:
    weights = Path(base) / "model.safetensors"
    return {
        "base": base,
        "precision": "int8" if quantize else "fp32",
        "weights_sha256": file_sha256(weights) if weights.is_file() else "",
    }


def prepare_encoder(base: str, cache: Path, *, quantize: bool = True) -> Path:
    """A directory with `encoder.onnx` (encoder + mean pooling, int8 unless `quantize` is False) and
    the tokenizer files of `base`; reused when it was built from the same weights."""
    target = Path(cache) / ("int8" if quantize else "fp32")
    stamp = _stamp(base, quantize)
    stamp_path = target / STAMP_FILE
    if (
        stamp_path.is_file()
        and json.loads(stamp_path.read_text()) == stamp
        and (target / ENCODER_FILE).is_file()
    ):
        return target
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interplay-encoder-") as tmp:
        exported = onnx_export(Path(base), Path(tmp) / "onnx", task="feature-extraction")
        if quantize:
            exported = quantize_int8(exported.parent, Path(tmp) / "int8")
        model = graph.add_mean_pooling(graph.load(exported))
        if target.exists():
            shutil.rmtree(target)
        graph.save(model, target / ENCODER_FILE)
        for name in TOKENIZER_FILES:
            if (exported.parent / name).is_file():
                shutil.copyfile(exported.parent / name, target / name)
            elif (Path(tmp) / "onnx" / name).is_file():
                shutil.copyfile(Path(tmp) / "onnx" / name, target / name)
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    log.info("exported the %s encoder in %.1f s", stamp["precision"], time.perf_counter() - started)
    return target


class Embedder:
    """Sentence embeddings from an encoder directory (encoder + mean pooling graph, tokenizer)."""

    def __init__(self, directory: Path, max_length: int, *, threads: int = 2) -> None:
        self.directory = Path(directory)
        self.session = create_session(self.directory / ENCODER_FILE, threads=threads, device="cpu")
        self.tokenizer = load_tokenizer(self.directory, max_length)
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.max_length = max_length

    def token_lengths(self, texts: list[str]) -> np.ndarray:
        """Tokens per text (special tokens included, before truncation)."""
        from tokenizers import Tokenizer

        raw = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        raw.no_truncation()
        raw.no_padding()
        return np.array([len(e.ids) for e in raw.encode_batch(texts)])

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def embed(
        self, texts: list[str], *, batch_size: int = 128, progress: str | None = None, by_length: bool = True
    ) -> np.ndarray:
        """One embedding row per text, in the order given (duplicates embedded once). `by_length` batches
        texts of similar length (little padding: fast); without it, batches are cut in the order given,
        as the runtime cuts them (int8 activations are quantized per batch, so batching matters a little)."""
        unique = list(dict.fromkeys(texts)) if by_length else texts
        order = list(range(len(unique)))
        if by_length:
            order.sort(key=lambda i: len(unique[i]))  # characters: close enough to tokens
        vectors: np.ndarray | None = None
        started = time.perf_counter()
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            out = self._run([unique[i] for i in index])
            if vectors is None:
                vectors = np.zeros((len(unique), out.shape[1]), dtype=np.float32)
            vectors[index] = out
        if vectors is None:
            return np.zeros((0, 0), dtype=np.float32)
        if progress:
            log.info("%s: embedded %d texts in %.1f s", progress, len(unique), time.perf_counter() - started)
        if not by_length:
            return vectors
        position = {text: i for i, text in enumerate(unique)}
        return vectors[[position[t] for t in texts]]
