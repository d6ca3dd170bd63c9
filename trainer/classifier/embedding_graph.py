"""ONNX graphs for the frozen-encoder model kind: encoder + mean pooling (+ a linear head) in one graph.

The encoder is exported once by Optimum (task `feature-extraction`, output `last_hidden_state`) and
quantized like a fine-tuned model. Mean pooling over the attention mask is appended to it, so the
texts the head learns from are embedded by exactly the graph the runtime serves; the fitted head is
then appended as MatMul + Add, and the graph's only output is `logits`, like a fine-tuned
classifier's. The runtime (`interplay.plugins.nlu.classifier`) needs nothing new to serve it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError

HIDDEN_OUTPUT = "last_hidden_state"
EMBEDDING_OUTPUT = "sentence_embedding"
LOGITS_OUTPUT = "logits"


def _opset(model: Any) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _output_info(model: Any, name: str, width: int | None) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", width or "width"])


def add_mean_pooling(model: Any) -> Any:
    """`model` (an encoder graph with `last_hidden_state`) with its only output `sentence_embedding`:
    the mean of the token vectors the attention mask keeps (sentence-transformers' mean pooling)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    if HIDDEN_OUTPUT not in {o.name for o in graph.output}:
        raise ModelError(
            f"the encoder graph has no {HIDDEN_OUTPUT!r} output: export it as feature-extraction"
        )
    if "attention_mask" not in {i.name for i in graph.input}:
        raise ModelError("the encoder graph has no attention_mask input")
    if _opset(model) < 13:
        raise ModelError(f"the encoder graph uses opset {_opset(model)}; mean pooling needs opset >= 13")
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "pool_axis_tokens"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "pool_axis_last"),
            numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "pool_min_count"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Cast", ["attention_mask"], ["pool_mask"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["pool_mask", "pool_axis_last"], ["pool_mask3"]),
            helper.make_node("Mul", [HIDDEN_OUTPUT, "pool_mask3"], ["pool_masked"]),
            helper.make_node("ReduceSum", ["pool_masked", "pool_axis_tokens"], ["pool_sum"], keepdims=0),
            helper.make_node("ReduceSum", ["pool_mask3", "pool_axis_tokens"], ["pool_count"], keepdims=0),
            helper.make_node("Max", ["pool_count", "pool_min_count"], ["pool_count_safe"]),
            helper.make_node("Div", ["pool_sum", "pool_count_safe"], [EMBEDDING_OUTPUT]),
        ]
    )
    del graph.output[:]
    graph.output.append(_output_info(model, EMBEDDING_OUTPUT, None))
    return model


def add_linear_head(model: Any, weight: np.ndarray, bias: np.ndarray) -> Any:
    """`model` (with `sentence_embedding`) with its only output `logits` = embedding @ weight.T + bias."""
    from onnx import helper, numpy_helper

    graph = model.graph
    if EMBEDDING_OUTPUT not in {o.name for o in graph.output}:
        raise ModelError(f"the graph has no {EMBEDDING_OUTPUT!r} output: add mean pooling first")
    weight = np.ascontiguousarray(np.asarray(weight, dtype=np.float32).T)  # (width, labels)
    graph.initializer.extend(
        [
            numpy_helper.from_array(weight, "head_weight"),
            numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "head_bias"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("MatMul", [EMBEDDING_OUTPUT, "head_weight"], ["head_scores"]),
            helper.make_node("Add", ["head_scores", "head_bias"], [LOGITS_OUTPUT]),
        ]
    )
    del graph.output[:]
    graph.output.append(_output_info(model, LOGITS_OUTPUT, weight.shape[1]))
    return model


def load(path: Path) -> Any:
    """An ONNX model with its weights (external data included)."""
    import onnx

    return onnx.load(str(path))


def save(model: Any, path: Path) -> Path:
    """Write `model` as one file after checking it (the encoder is small enough to stay under 2 GB)."""
    import onnx

    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def prune(model: Any) -> Any:
    """`model` without the nodes and initializers its outputs do not need (e.g. a replaced pooling)."""
    graph = model.graph
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    unused = [i for i in graph.initializer if i.name not in needed]
    for initializer in unused:
        graph.initializer.remove(initializer)
    return model
