"""Export a tagger to a model directory: Optimum ONNX (token classification), int8, parity, manifest."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.core.model_dir import ModelManifest, ParityCheck
from interplay.plugins.entities import OnnxTokenTagger, Span, decode, words
from interplay.plugins.nlu import softmax

from ..classifier.export import (
    FP32_LOGIT_TOLERANCE,
    INT8_MIN_AGREEMENT,
    onnx_export,
    onnx_opset,
    quantize_int8,
    write_model_dir,
)

log = logging.getLogger("interplay.trainer")


def onnx_logits(directory: Path, texts: list[str], batch: int = 64) -> list[np.ndarray]:
    """Per-text token logits (padding cut off) from a model directory, through the runtime tagger."""
    runtime = OnnxTokenTagger(directory, threads=2, device="cpu")
    out: list[np.ndarray] = []
    for i in range(0, len(texts), batch):
        logits, encodings = runtime.logits(texts[i : i + batch])
        out += [logits[k, : sum(enc.attention_mask)] for k, enc in enumerate(encodings)]
    return out


def _first_tokens(word_ids: list[int | None], offsets: list[tuple[int, int]]) -> list[int]:
    return [w.first_token for w in words(word_ids, offsets)]


def parity(reference: list[np.ndarray], directory: Path, texts: list[str], tags: list[str]) -> dict[str, Any]:
    """Compare a model directory's ONNX token logits (through the runtime tagger) with PyTorch's."""
    runtime = OnnxTokenTagger(directory, threads=2, device="cpu")
    max_diff, agree, total, same_spans = 0.0, 0, 0, 0
    for i in range(0, len(texts), 64):
        logits, encodings = runtime.logits(texts[i : i + 64])
        for k, enc in enumerate(encodings):
            ref = reference[i + k]
            ours = logits[k, : len(ref)]
            if len(ref) != sum(enc.attention_mask):
                raise ModelError(
                    "the runtime tokenizer and the training tokenizer disagree; re-export the model"
                )
            max_diff = max(max_diff, float(np.abs(ours - ref).max()))
            first = _first_tokens(enc.word_ids, enc.offsets)
            agree += int((ours[first].argmax(-1) == ref[first].argmax(-1)).sum())
            total += len(first)
            same_spans += int(_spans(ours, enc, tags) == _spans(ref, enc, tags))
    return {
        "examples": len(texts),
        "max_abs_logit_diff": max_diff,
        "label_agreement": agree / max(total, 1),
        "span_agreement": same_spans / max(len(texts), 1),
    }


def _spans(logits: np.ndarray, enc: Any, tags: list[str]) -> list[tuple[str, int, int]]:
    spans: list[Span] = decode(softmax(logits.astype(np.float64)), enc.word_ids, enc.offsets, tags)
    return [(s.label, s.start, s.end) for s in spans]


def export_tagger(
    checkpoint: Path,
    out: Path,
    manifest: ModelManifest,
    *,
    reference_logits: list[np.ndarray],
    texts: list[str],
    quantize: bool = True,
    opset: int | None = None,
    keep_fp32: Path | None = None,
) -> ModelManifest:
    """Export, quantize, check both graphs against PyTorch, and leave the chosen one in `out`."""
    tags = list(manifest.labels)
    with tempfile.TemporaryDirectory(prefix="interplay-export-") as tmp:
        tmp_path = Path(tmp)
        fp32 = onnx_export(checkpoint, tmp_path / "onnx", opset, task="token-classification")
        base = manifest.model_copy(update={"opset": onnx_opset(fp32), "precision": "fp32"})
        fp32_dir = keep_fp32 or tmp_path / "fp32"
        write_model_dir(fp32, checkpoint, fp32_dir, base)
        fp32_check = parity(reference_logits, fp32_dir, texts, tags)
        if fp32_check["max_abs_logit_diff"] > FP32_LOGIT_TOLERANCE:
            raise ModelError(
                f"the fp32 ONNX export disagrees with PyTorch ({fp32_check}); the export is broken"
            )
        chosen, check = fp32, {**fp32_check, "passed": True}
        if quantize:
            int8 = quantize_int8(tmp_path / "onnx", tmp_path / "int8")
            int8_dir = tmp_path / "int8dir"
            base = base.model_copy(update={"precision": "int8"})
            write_model_dir(int8, checkpoint, int8_dir, base)
            check = parity(reference_logits, int8_dir, texts, tags)
            check["passed"] = check["label_agreement"] >= INT8_MIN_AGREEMENT
            check["fp32"] = fp32_check
            chosen = int8
            if not check["passed"]:
                log.warning(
                    "int8 tagger agrees with PyTorch on only %.1f%% of words", 100 * check["label_agreement"]
                )
        if out.exists():
            shutil.rmtree(out)
        return write_model_dir(
            chosen, checkpoint, out, base.model_copy(update={"parity": ParityCheck(**check)})
        )
