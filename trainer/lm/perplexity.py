"""Reply perplexity of an ONNX generator on dialogue data (DailyDialog-style JSONL with "turns")."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from interplay.plugins.onnx_generator import DecoderSession

CONTEXT_TURNS = 4  # earlier turns shown before the scored reply; keeps sequences short on a CPU


@dataclass(frozen=True)
class ReplyExample:
    """Prompt ids (chat template up to the assistant header) and the reply ids to score."""

    prompt: list[int]
    reply: list[int]


def dialogue_examples(path: Path, tokenizer: Any, limit: int = 200,
                      end_token: str = "<|im_end|>") -> list[ReplyExample]:
    """One example per dialogue: its second turn onwards picked deterministically as the reply."""
    examples = []
    for i, turns in enumerate(_dialogues(path)):
        if len(examples) >= limit:
            break
        if len(turns) < 2:
            continue
        at = 1 + i % (len(turns) - 1)  # spread the scored turn over positions, reproducibly
        context = turns[max(0, at - CONTEXT_TURNS):at]
        roles = ["user" if (at - k) % 2 else "assistant" for k in range(len(context), 0, -1)]
        chat = [{"role": r, "content": t} for r, t in zip(roles, context, strict=True)]
        prompt = _ids(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True))
        suffix = end_token if end_token in tokenizer.get_vocab() else ""
        reply = tokenizer.encode(turns[at].strip() + suffix, add_special_tokens=False)
        examples.append(ReplyExample(prompt, reply))
    return examples


def _dialogues(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield [" ".join(t.split()) for t in json.loads(line)["turns"]]


def _ids(value: Any) -> list[int]:
    return list(value["input_ids"] if isinstance(value, dict) else value)


def reply_nll(session: DecoderSession, example: ReplyExample) -> tuple[float, int]:
    """Summed negative log-likelihood of the reply tokens given the prompt, and their count."""
    return reply_nlls(session, [example], batch=1)[0]


def perplexity(session: DecoderSession, examples: list[ReplyExample], progress: bool = True) -> float:
    """exp(mean token NLL) over all reply tokens."""
    from tqdm import tqdm

    total, count = 0.0, 0
    for example in tqdm(examples, desc="perplexity", unit="reply", disable=not progress, leave=False):
        nll, n = reply_nll(session, example)
        total, count = total + nll, count + n
    return math.exp(total / max(count, 1))


def reply_nlls(session: DecoderSession, examples: list[ReplyExample], batch: int = 8
               ) -> list[tuple[float, int]]:
    """`reply_nll` for many examples, `batch` sequences per ONNX Runtime call (right-padded, by
    length): the same figures (tests compare them) at a fraction of the calls. Only the reply rows
    of the logits are taken to float64."""
    out: list[tuple[float, int]] = [(0.0, 0)] * len(examples)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].prompt) + len(examples[i].reply))
    for k in range(0, len(order), batch):
        chunk = order[k : k + batch]
        seqs = [examples[i].prompt + examples[i].reply for i in chunk]
        width = max(len(s) for s in seqs)
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if session.has_position_ids:
            feed["position_ids"] = np.broadcast_to(np.arange(width, dtype=np.int64), ids.shape).copy()
        feed.update(zip(session.past_names, session.empty_past(len(seqs)), strict=True))
        logits = session.session.run(["logits"], feed)[0]
        for row, i in enumerate(chunk):
            example = examples[i]
            start, end = len(example.prompt), len(example.prompt) + len(example.reply)
            scores = logits[row, start - 1 : end - 1].astype(np.float64)  # position t predicts t + 1
            top = scores.max(axis=1, keepdims=True)
            log_z = np.log(np.exp(scores - top).sum(axis=1)) + top[:, 0]
            picked = scores[np.arange(len(example.reply)), example.reply]
            out[i] = (float((log_z - picked).sum()), len(example.reply))
    return out
