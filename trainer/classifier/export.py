"""Export a trained checkpoint to a model directory: Optimum ONNX, int8 dynamic quantization, parity."""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.core.model_dir import ModelManifest, ParityCheck, file_sha256
from interplay.plugins.nlu import OnnxTextClassifier

log = logging.getLogger("interplay.trainer")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
)
FP32_LOGIT_TOLERANCE = 1e-3
INT8_MIN_AGREEMENT = 0.95
INT8_MAX_ACCURACY_DROP = 0.005  # int8 is served only within half a point of fp32 on the labeled texts


def onnx_export(
    checkpoint: Path, out: Path, opset: int | None = None, task: str = "text-classification"
) -> Path:
    """Optimum's exporter for an encoder `task`: checkpoint directory to `out/model.onnx` (fp32)."""
    from optimum.exporters.onnx import main_export

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main_export(
            str(checkpoint),
            output=out,
            task=task,
            opset=opset,
            device="cpu",
            do_validation=False,
            local_files_only=True,
        )
    path = out / "model.onnx"
    if not path.is_file():
        raise ModelError(f"the ONNX export wrote no {path}: check the checkpoint in {checkpoint}")
    return path


def quantize_int8(fp32_dir: Path, out: Path) -> Path:
    """Dynamic int8 quantization of the weights (activations quantized at run time) for CPUs."""
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    quantizer = ORTQuantizer.from_pretrained(fp32_dir, file_name="model.onnx")
    qconfig = AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=True)
    written = quantizer.quantize(quantization_config=qconfig, save_dir=out, file_suffix="quantized")
    path = Path(written) / "model_quantized.onnx" if Path(written).is_dir() else Path(written)
    return path


def onnx_opset(path: Path) -> int | None:
    """The default-domain opset the graph was exported with."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def write_model_dir(onnx_file: Path, checkpoint: Path, out: Path, manifest: ModelManifest) -> ModelManifest:
    """Copy the graph and tokenizer files into `out` and write a manifest with the graph's sha256."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, out / "model.onnx")
    for name in TOKENIZER_FILES:
        if (checkpoint / name).is_file():
            shutil.copyfile(checkpoint / name, out / name)
    manifest = manifest.model_copy(
        update={"model_file": "model.onnx", "sha256": file_sha256(out / "model.onnx")}
    )
    manifest.save(out)
    return manifest


def parity(
    reference: np.ndarray, directory: Path, texts: list[str], labels: np.ndarray | None
) -> dict[str, Any]:
    """Compare a model directory's ONNX logits (through the runtime loader) with PyTorch's."""
    runtime = OnnxTextClassifier(directory, threads=2, device="cpu")
    logits = np.concatenate([runtime.model.run(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    result: dict[str, Any] = {
        "examples": len(texts),
        "max_abs_logit_diff": float(np.abs(logits - reference).max()),
        "label_agreement": float((logits.argmax(1) == reference.argmax(1)).mean()),
    }
    if labels is not None:
        result["accuracy"] = float((logits.argmax(1) == labels).mean())
        result["torch_accuracy"] = float((reference.argmax(1) == labels).mean())
    return result


def int8_holds_up(int8: dict[str, Any], fp32: dict[str, Any]) -> bool:
    """Whether the int8 graph may be served instead of the fp32 one: it agrees with PyTorch on the
    labels and, where the texts are labeled, loses at most INT8_MAX_ACCURACY_DROP of accuracy."""
    if int8["label_agreement"] < INT8_MIN_AGREEMENT:
        return False
    if "accuracy" in int8 and "accuracy" in fp32:
        return bool(int8["accuracy"] >= fp32["accuracy"] - INT8_MAX_ACCURACY_DROP - 1e-9)
    return True


def export_classifier(
    checkpoint: Path,
    out: Path,
    manifest: ModelManifest,
    *,
    reference_logits: np.ndarray,
    texts: list[str],
    labels: np.ndarray | None = None,
    quantize: bool = True,
    opset: int | None = None,
) -> ModelManifest:
    """Export, quantize, check both graphs against PyTorch, and leave the chosen one in `out`
    (int8 where it holds up against fp32, else fp32)."""
    with tempfile.TemporaryDirectory(prefix="interplay-export-") as tmp:
        tmp_path = Path(tmp)
        fp32 = onnx_export(checkpoint, tmp_path / "onnx", opset)
        base = manifest.model_copy(update={"opset": onnx_opset(fp32), "precision": "fp32"})
        fp32_dir = tmp_path / "fp32"
        write_model_dir(fp32, checkpoint, fp32_dir, base)
        fp32_check = parity(reference_logits, fp32_dir, texts, labels)
        if fp32_check["max_abs_logit_diff"] > FP32_LOGIT_TOLERANCE:
            raise ModelError(
                f"the fp32 ONNX export disagrees with PyTorch ({fp32_check}); the export is broken"
            )
        chosen, check = fp32, {**fp32_check, "passed": True}
        if quantize:
            int8 = quantize_int8(tmp_path / "onnx", tmp_path / "int8")
            int8_dir = tmp_path / "int8dir"
            write_model_dir(int8, checkpoint, int8_dir, base.model_copy(update={"precision": "int8"}))
            int8_check = parity(reference_logits, int8_dir, texts, labels)
            if int8_holds_up(int8_check, fp32_check):
                check = {**int8_check, "passed": True, "fp32": fp32_check}
                chosen, base = int8, base.model_copy(update={"precision": "int8"})
            else:  # serve fp32: slower, but as accurate as the trained model
                check = {**check, "int8": {**int8_check, "passed": False}}
                log.warning(
                    "int8 model falls short of fp32 (label agreement %.1f%%, accuracy %s vs %s): "
                    "exporting fp32",
                    100 * int8_check["label_agreement"],
                    int8_check.get("accuracy"),
                    fp32_check.get("accuracy"),
                )
        if out.exists():
            shutil.rmtree(out)
        return write_model_dir(
            chosen, checkpoint, out, base.model_copy(update={"parity": ParityCheck(**check)})
        )
