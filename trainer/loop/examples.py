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
        prompt, reply = _prompt_ids(tokenizer, chat), _text_ids(tokenizer, row["reply"].strip())
        reply = (reply + tokenizer.encode(end, add_special_tokens=False))[:max_reply]
        out.append(TokenizedExample(prompt[-max_prompt:], reply, bool(row["label"]), float(row["weight"])))
    return out


def _prompt_ids(tokenizer: Any, chat: list[dict[str, str]]) -> list[int]:
    """Special tokens only where the template puts them: text people typed stays text."""
    from interplay.plugins.onnx_generator import encode_chat

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow tokenizer: no way to switch special-token matching off
        return _ids(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True))

    def render(messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return str(tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt,
                                                 tokenize=False))

    return encode_chat(backend, render, chat)


def _text_ids(tokenizer: Any, text: str) -> list[int]:
    from interplay.plugins.onnx_generator import encode_plain

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return list(tokenizer.encode(text, add_special_tokens=False))
    return encode_plain(backend, text)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """A dataset file's rows (empty when the file is absent)."""
    return read_jsonl(path)


def system_prompt_of(config: Any) -> str:
    """The system prompt the onnx generator serves with (training must match it)."""
    from interplay.plugins.onnx_generator import DEFAULT_SYSTEM_PROMPT

    return str(config.plugin_table("onnx").get("system_prompt", DEFAULT_SYSTEM_PROMPT))
