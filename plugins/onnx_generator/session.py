"""One ONNX Runtime session over an Optimum-exported decoder with a KV cache (CPU or CUDA)."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.core.model_dir import cuda_usable

log = logging.getLogger("interplay.plugins.onnx")

_PAST_RE = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
__all__ = ["DecoderSession", "StepOutput", "cpu_threads", "cuda_usable"]  # cuda_usable: the core's probe


def cpu_threads(configured: int | None) -> int:
    """Intra-op threads: the configured count, else the cores this process may run on."""
    if configured:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class StepOutput:
    """Logits of the last position of each row, and the grown KV cache."""

    logits: np.ndarray  # [batch, vocab], float32
    past: list[Any]  # per cache input: numpy array [batch, kv_heads, length, head_dim] or OrtValue


class DecoderSession:
    """Runs prefill and decode steps; the KV cache is a list of arrays in input order."""

    def __init__(self, model_path: Path, *, device: str = "cpu", threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initialisers are noise to users
        # One decode loop owns the session: all cores go to intra-op parallelism.
        options.intra_op_num_threads = cpu_threads(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        providers: list[Any] = ["CPUExecutionProvider"]
        if device == "cuda":
            providers = [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(model_path), options, providers=providers)
        except Exception as exc:  # ORT raises bare RuntimeErrors for bad files
            raise ModelError(
                f"cannot load {model_path}: {exc}. Rebuild it with `interplay models prepare --force`"
            ) from None
        self.device = device
        self._describe()

    def _describe(self) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        for needed in ("input_ids", "attention_mask"):
            if needed not in inputs:
                raise ModelError(f"model has no '{needed}' input: export it with Optimum's "
                                 "text-generation-with-past task (`interplay models prepare`)")
        self.past_names = sorted(
            (n for n in inputs if _PAST_RE.match(n)),
            key=lambda n: (int(_PAST_RE.match(n)[1]), _PAST_RE.match(n)[2]),  # type: ignore[index]
        )
        if not self.past_names:
            raise ModelError("model has no KV-cache inputs: export it with the -with-past task")
        self.present_names = [n.replace("past_key_values", "present") for n in self.past_names]
        first = inputs[self.past_names[0]]
        self.kv_heads, self.head_dim = int(first.shape[1]), int(first.shape[3])
        self.kv_dtype = np.float16 if "float16" in first.type else np.float32
        self.has_position_ids = "position_ids" in inputs
        self.vocab_size = int(self.session.get_outputs()[0].shape[-1])

    def empty_past(self, batch: int = 1) -> list[np.ndarray]:
        """A zero-length cache for a fresh sequence."""
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=self.kv_dtype) for _ in self.past_names]

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray,
            past: list[Any]) -> StepOutput:
        """One forward pass; returns last-position logits and the cache including these tokens."""
        if self.device == "cuda":
            return self._run_cuda(input_ids, attention_mask, position_ids, past)
        feed: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.has_position_ids:
            feed["position_ids"] = position_ids
        feed.update(zip(self.past_names, past, strict=True))
        outputs = self.session.run(["logits", *self.present_names], feed)
        return StepOutput(np.asarray(outputs[0][:, -1, :], dtype=np.float32), list(outputs[1:]))

    def _run_cuda(self, input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray,
                  past: list[Any]) -> StepOutput:
        """CUDA with I/O binding: the KV cache stays on the GPU between steps."""
        import onnxruntime as ort

        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", input_ids)
        binding.bind_cpu_input("attention_mask", attention_mask)
        if self.has_position_ids:
            binding.bind_cpu_input("position_ids", position_ids)
        for name, value in zip(self.past_names, past, strict=True):
            if isinstance(value, np.ndarray):
                value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value), "cuda", 0)
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("logits", "cpu")
        for name in self.present_names:
            binding.bind_output(name, "cuda", 0)
        self.session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        logits = outputs[0].numpy()[:, -1, :].astype(np.float32)
        return StepOutput(logits, list(outputs[1:]))

    def prefill(self, token_ids: list[int]) -> StepOutput:
        """Run a whole prompt for one sequence from an empty cache."""
        ids = np.asarray([token_ids], dtype=np.int64)
        mask = np.ones_like(ids)
        positions = np.arange(ids.shape[1], dtype=np.int64)[None, :]
        return self.run(ids, mask, positions, self.empty_past(1))


def as_numpy(past: list[Any]) -> list[np.ndarray]:
    """The cache as host arrays (a copy from the GPU when it lives there)."""
    return [p if isinstance(p, np.ndarray) else p.numpy() for p in past]
