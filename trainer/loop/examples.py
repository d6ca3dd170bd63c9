"""Dataset rows to token ids, exactly as the runtime prompts the model (system prompt included)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interplay.trainer.datasets.export import read_jsonl

END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")


@dataclass(frozen=True)
class TokenizedExample:
    """Prompt ids, reply ids (ending with the end-of-turn token), label and weight."""

    prompt: list[int]
    reply: list[int]
    good: bool
    weight: float


def end_token(tokenizer: Any) -> str:
    """The chat template's end-of-turn marker, so training teaches the model where replies stop."""
    vocab = tokenizer.get_vocab()
    template = tokenizer.chat_template or ""
    for token in END_TOKENS:
        if token in vocab and token in template:
            return token
    return tokenizer.eos_token or ""


def _ids(value: Any) -> list[int]:
    return list(value["input_ids"] if isinstance(value, dict) or hasattr(value, "keys") else value)


def tokenize(rows: list[dict[str, Any]], tokenizer: Any, system_prompt: str, *,
             max_prompt: int = 384, max_reply: int = 128) -> list[TokenizedExample]:
    """Rows of sft/feedback/golden .jsonl to ids; long prompts keep their end (the question)."""
    end = end_token(tokenizer)
    out = []
    for row in rows:
        head = [{"role": "system", "content": system_prompt}] if system_prompt else []
        chat = [*head, *row["context"]]
        prompt = _ids(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True))
        reply = tokenizer.encode(row["reply"].strip() + end, add_special_tokens=False)[:max_reply]
        out.append(TokenizedExample(prompt[-max_prompt:], reply, bool(row["label"]), float(row["weight"])))
    return out


def load_rows(path: Path) -> list[dict[str, Any]]:
    """A dataset file's rows (empty when the file is absent)."""
    return read_jsonl(path)


def system_prompt_of(config: Any) -> str:
    """The system prompt the onnx generator serves with (training must match it)."""
    from interplay.plugins.onnx_generator.settings import DEFAULT_SYSTEM_PROMPT

    return str(config.plugin_table("onnx").get("system_prompt", DEFAULT_SYSTEM_PROMPT))
