"""ONNX Runtime against PyTorch on the same prompts: logits difference and a greedy continuation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import ModelError
from interplay.plugins.onnx_generator import DecoderSession

PARITY_PROMPTS = (
    "Hi! How are you today?",
    "Can you explain what a rainbow is in one sentence?",
    "My order arrived broken and nobody answers my emails.",
)
FP32_LOGITS_ATOL = 1e-2  # summed over 30 layers fp32 kernels differ by ~1e-4; more means a broken export


@dataclass
class ParityResult:
    """How closely one ONNX variant follows PyTorch."""

    precision: str
    prompts: int
    new_tokens: int
    max_abs_logit_diff: float
    greedy_identical: int  # prompts whose continuation matched token for token
    greedy_agreement: float  # mean fraction of matching leading tokens

    @property
    def exact(self) -> bool:
        return self.greedy_identical == self.prompts

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exact": self.exact}


def prompt_ids(tokenizer: Any, prompts: tuple[str, ...] = PARITY_PROMPTS) -> list[list[int]]:
    """The parity prompts rendered with the model's own chat template."""
    out = []
    for text in prompts:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                            tokenize=True)
        out.append(list(ids["input_ids"] if isinstance(ids, dict) else ids))
    return out


def torch_greedy(model: Any, ids: list[int], new_tokens: int) -> tuple[np.ndarray, list[int]]:
    """Prompt logits and a greedy continuation from PyTorch (with its own KV cache)."""
    import torch

    with torch.inference_mode():
        out = model(torch.tensor([ids]), use_cache=True)
        prompt_logits = out.logits[0].float().numpy()
        past, tokens = out.past_key_values, []
        token = int(out.logits[0, -1].argmax())
        for _ in range(new_tokens):
            tokens.append(token)
            out = model(torch.tensor([[token]]), past_key_values=past, use_cache=True)
            past, token = out.past_key_values, int(out.logits[0, -1].argmax())
    return prompt_logits, tokens


def onnx_greedy(session: DecoderSession, ids: list[int], new_tokens: int) -> tuple[np.ndarray, list[int]]:
    """The same from ONNX Runtime, through the runtime's own session class."""
    feed: dict[str, Any] = {"input_ids": np.asarray([ids], dtype=np.int64)}
    feed["attention_mask"] = np.ones_like(feed["input_ids"])
    if session.has_position_ids:
        feed["position_ids"] = np.arange(len(ids), dtype=np.int64)[None, :]
    feed.update(zip(session.past_names, session.empty_past(1), strict=True))
    prompt_logits = session.session.run(["logits"], feed)[0][0].astype(np.float32)
    out = session.prefill(ids)
    tokens, length = [], len(ids)
    token = int(out.logits[0].argmax())
    for _ in range(new_tokens):
        tokens.append(token)
        mask = np.ones((1, length + 1), dtype=np.int64)
        out = session.run(np.asarray([[token]]), mask, np.asarray([[length]]), out.past)
        length, token = length + 1, int(out.logits[0].argmax())
    return prompt_logits, tokens


def check_parity(model: Any, tokenizer: Any, onnx_path: Path, precision: str, *, new_tokens: int = 32,
                 device: str = "cpu") -> ParityResult:
    """Compare one ONNX file with the PyTorch model on the parity prompts."""
    session = DecoderSession(onnx_path, device=device)
    diffs, identical, agreement = [], 0, []
    all_ids = prompt_ids(tokenizer)
    for ids in all_ids:
        ref_logits, ref_tokens = torch_greedy(model, ids, new_tokens)
        got_logits, got_tokens = onnx_greedy(session, ids, new_tokens)
        diffs.append(float(np.abs(ref_logits - got_logits).max()))
        identical += ref_tokens == got_tokens
        agreement.append(_leading_match(ref_tokens, got_tokens) / new_tokens)
    return ParityResult(precision, len(all_ids), new_tokens, max(diffs), identical, float(np.mean(agreement)))


def require_fp32_parity(result: ParityResult, atol: float = FP32_LOGITS_ATOL) -> None:
    """Export fails loudly when the fp32 ONNX model does not reproduce PyTorch."""
    if result.exact and result.max_abs_logit_diff <= atol:
        return
    raise ModelError(
        f"fp32 ONNX export does not match PyTorch: max |logit diff| = {result.max_abs_logit_diff:.3g} "
        f"(limit {atol}), {result.greedy_identical}/{result.prompts} greedy continuations identical. "
        "The export is broken: check the optimum/transformers versions (optimum-onnx 0.1.0 needs "
        "transformers<4.58) and rerun `interplay models prepare --force`"
    )


def _leading_match(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
