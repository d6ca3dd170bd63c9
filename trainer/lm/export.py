"""ONNX files for one checkpoint: fp32 export with Optimum, block-wise int8/int4 weights, fp16 conversion."""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

from interplay.core import ModelError

log = logging.getLogger("interplay.trainer.lm")

TASK = "text-generation-with-past"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json",
                   "generation_config.json", "chat_template.jinja")


def export_fp32(model: Any, tokenizer: Any, out: Path, *, opset: int | None = None) -> Path:
    """Optimum's decoder export with the KV cache as inputs/outputs, plus the tokenizer."""
    try:
        from optimum.exporters.onnx import onnx_export_from_model
    except ImportError as exc:
        raise ModelError(
            f"exporting needs the training extras ({exc}): pip install 'interplay[train]'"
        ) from None
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings are expected for every decoder export
        onnx_export_from_model(model, out, task=TASK, opset=opset, do_validation=False)
    tokenizer.save_pretrained(out)
    if not (out / "model.onnx").is_file():
        raise ModelError(f"Optimum wrote no model.onnx in {out}: check the log above")
    return out / "model.onnx"


def quantize_int8(src: Path, dst: Path) -> Path:
    """int8 weights in blocks of 32 (MatMulNBits), multiplied with int8-quantized activations.

    Measured on SmolLM2-135M (60 DailyDialog replies): ONNX Runtime's `quantize_dynamic`
    (per-tensor uint8 activations) raised perplexity by 63%, because a few activation channels
    are huge outliers; block-wise 8-bit weights with accuracy_level=4 (activations quantized on
    the fly per block of 32) stayed within about 1% at the same decode speed.
    """
    return quantize_blockwise(src, dst, bits=8)


def quantize_int4(src: Path, dst: Path) -> Path:
    """4-bit weights in blocks of 32 for every projection; the LM head stays 8-bit.

    The LM head (the tied embedding table on small models) is the largest matrix and the one
    whose errors reach every logit directly, so it keeps 8 bits; the same accuracy_level=4
    (int8 activations per block) as the int8 variant.
    """
    return quantize_blockwise(src, dst, bits=4, head_bits=8)


def quantize_blockwise(src: Path, dst: Path, *, bits: int, head_bits: int | None = None,
                       symmetric: bool = True) -> Path:
    """MatMulNBits weights (blocks of 32, accuracy_level 4); `head_bits` for the LM head.

    `symmetric=False` stores a zero point per block as well as a scale.
    """
    import onnx

    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as exc:
        raise ModelError(f"quantization needs onnx-ir ({exc}): pip install 'interplay[train]'") from None
    # it logs every matrix at INFO; a progress bar is already telling the user what happens
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    dst.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(src / "model.onnx"))
    materialize_tied_weights(model)
    head = lm_head_node(model) if head_bits not in (None, bits) else None

    def quantize(proto: Any, n: int, **nodes: Any) -> Any:
        quantizer = MatMulNBitsQuantizer(proto, bits=n, block_size=32, is_symmetric=symmetric,
                                         accuracy_level=4, op_types_to_quantize=("MatMul",), **nodes)
        quantizer.process()
        return quantizer.model

    quantized = quantize(model, bits, nodes_to_exclude=[head] if head else None)
    if head:
        quantized = quantize(quantized.model, head_bits, nodes_to_include=[head])
    quantized.save_model_to_file(str(dst / "model.onnx"), use_external_data_format=False)
    copy_tokenizer(src, dst)
    return dst / "model.onnx"


def lm_head_node(model: Any) -> str | None:
    """The name of the MatMul that produces the logits (the LM head), if the graph has one."""
    producers = {out: node for node in model.graph.node for out in node.output}
    node = producers.get("logits")
    for _ in range(4):  # the head may be followed by a cast or a soft-cap
        if node is None or node.op_type == "MatMul":
            break
        node = next((producers[i] for i in node.input if i in producers), None)
    return node.name if node is not None and node.op_type == "MatMul" else None


def materialize_tied_weights(model: Any) -> int:
    """Give MatMuls fed by Transpose(initializer) their own transposed constant.

    With tied embeddings the LM head multiplies by the transposed embedding table, which the
    quantizer skips as "not constant"; it is the largest matrix of a small model.
    """
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    changed = 0
    for node in graph.node:
        source = producers.get(node.input[1]) if node.op_type == "MatMul" else None
        if source is None or source.op_type != "Transpose" or source.input[0] not in initializers:
            continue
        perm = next((list(a.ints) for a in source.attribute if a.name == "perm"), None)
        weight = np.transpose(numpy_helper.to_array(initializers[source.input[0]]), perm)
        name = f"{node.name.strip('/').replace('/', '_')}_weight"
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), name))
        node.input[1] = name
        changed += 1
    return changed


def convert_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights, activations and KV cache, for the CUDA provider."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    dst.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(src / "model.onnx"))
    # ops whose fp16 kernels lose too much precision or are missing stay fp32
    half = convert_float_to_float16(model, keep_io_types=False, disable_shape_infer=True,
                                    op_block_list=["SimplifiedLayerNormalization", "Softmax", "Pow",
                                                   "ReduceMean", "Sqrt"])
    onnx.save(half, str(dst / "model.onnx"), save_as_external_data=_too_big(half),
              location="model.onnx_data")
    copy_tokenizer(src, dst)
    return dst / "model.onnx"


def _too_big(model: Any) -> bool:
    return model.ByteSize() > 1_800_000_000  # protobuf's 2 GB ceiling, with margin


def copy_tokenizer(src: Path, dst: Path) -> None:
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)


def opset_of(onnx_path: Path) -> int:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
