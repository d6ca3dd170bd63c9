"""Defaults for a chat window: replies end at the end-of-turn token, stay short, and end on a sentence."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from interplay.core import Conversation, Message
from interplay.plugins.onnx_generator import DEFAULT_SYSTEM_PROMPT, OnnxGeneratorSettings
from interplay.plugins.onnx_generator.detokenize import SentenceEnd
from interplay.plugins.onnx_generator.tokenizer import ChatTokenizer

GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0}


def test_the_end_of_turn_token_is_read_from_the_chat_template(tiny_root: Path, tmp_path: Path) -> None:
    from interplay.trainer.lm.tiny import tiny_tokenizer

    chatml = ChatTokenizer(tiny_root / "fp32")
    assert chatml.end_of_turn_ids() == {chatml.get_vocab()["<|im_end|>"]}
    tiny_tokenizer(style="gemma").save_pretrained(tmp_path / "gemma")
    gemma = ChatTokenizer(tmp_path / "gemma")
    assert gemma.end_of_turn_ids() == {gemma.get_vocab()["<end_of_turn>"]}


async def test_a_reply_ends_at_end_of_turn_even_when_the_manifest_lists_no_stop_token(
        start_generator: Any, tiny_root: Path, tmp_path: Path) -> None:
    variant = tmp_path / "fp32"
    shutil.copytree(tiny_root / "fp32", variant)
    manifest = json.loads((variant / "manifest.json").read_text())
    manifest["stop_token_ids"] = []
    (variant / "manifest.json").write_text(json.dumps(manifest))
    async with start_generator(model_dir=variant) as gen:
        assert gen.model.stop_token_ids == set()
        assert gen.tokenizer.get_vocab()["<|im_end|>"] in gen.engine.stop_token_ids


def test_defaults_suit_a_chat_window() -> None:
    settings = OnnxGeneratorSettings()
    assert settings.max_new_tokens <= 200
    assert 0 < settings.wrap_up_tokens < settings.max_new_tokens
    # the prompt names no place, team or product for a small model to make a story of
    invented = ("community", "chat", "team", "company", "platform", "our ", "we ", "interplay")
    assert not [w for w in invented if w in DEFAULT_SYSTEM_PROMPT.lower()]


REPO = Path(__file__).resolve().parents[3]


def commented_defaults(text: str, table: str) -> dict[str, Any]:
    """`# key = value` lines inside one table of a TOML file: the defaults it shows commented."""
    import tomllib

    found: dict[str, Any] = {}
    inside = False
    for line in text.splitlines():
        if line.startswith("["):
            inside = line.strip() == f"[{table}]"
        elif inside and line.startswith("# ") and " = " in line.split("#")[1]:
            found.update(tomllib.loads(line[2:].split("  #")[0]))
    return found


def test_the_shipped_config_and_docs_show_the_real_chat_defaults() -> None:
    settings = OnnxGeneratorSettings()
    shown = commented_defaults((REPO / "config.toml").read_text(), "plugins.onnx")
    assert shown == {"max_new_tokens": settings.max_new_tokens, "wrap_up_tokens": settings.wrap_up_tokens,
                     "system_prompt": DEFAULT_SYSTEM_PROMPT}
    docs = (REPO / "docs" / "generator.md").read_text()
    assert f"| `max_new_tokens` | `{settings.max_new_tokens}` |" in docs
    assert f"| `wrap_up_tokens` | `{settings.wrap_up_tokens}` |" in docs
    assert f'| `system_prompt` | "{DEFAULT_SYSTEM_PROMPT}" |' in docs


def feed(after: int, deltas: list[str]) -> str:
    """The text a reply shows when these deltas arrive, one token each."""
    ending, shown = SentenceEnd(after), ""
    for text in deltas:
        ending.count()
        if ending.ends_before(text):
            break
        shown += text
    return shown


@pytest.mark.parametrize(("after", "deltas", "shown"), [
    (2, ["Tea", " is", " nice", ".", " Boil", " water", "."], "Tea is nice."),
    (4, ["Tea", ".", " It", " is", " nice", ".", " Boil"], "Tea. It is nice."),  # not before the limit
    (0, ["Tea", ".", " It", " is", "."], "Tea. It is."),  # 0 = off
    (1, ["It", " costs", " 3", ".", "5", " euros", ".", " Bye"], "It costs 3.5 euros."),
    (1, ["It", " costs", " 3", ".", "5", " euros", ".\n", "Bye"], "It costs 3.5 euros.\n"),
    (1, ["Steps", ":", "\n", "1", ".", " Boil", ".", " Pour"], "Steps:\n1. Boil."),  # a list item is no end
    (1, ["She", " said", " \"", "hi", ".\"", " Then"], "She said \"hi.\""),
])
def test_a_long_reply_ends_at_the_next_sentence_end(after: int, deltas: list[str], shown: str) -> None:
    assert feed(after, deltas) == shown


async def test_the_generator_wraps_up_chat_replies_but_not_raw_streams(start_generator: Any) -> None:
    async with start_generator(wrap_up_tokens=3, max_new_tokens=64, **GREEDY) as gen:
        text = "Hello there, how are you doing today? I am fine, thank you very much."
        ids = gen.tokenizer.encode(text)

        async def scripted(prompt_ids: list[int], params: Any) -> AsyncIterator[int]:
            for token in ids:
                yield token

        gen.tokens = scripted  # type: ignore[method-assign]
        chat = "".join([d async for d in gen.stream(Conversation("c", Message("test", "c", "u", "hi")))])
        finish = gen.last_finish
        raw = "".join([d async for d in gen.stream_ids([1], gen.sampling())])
    assert chat == "Hello there, how are you doing today?"
    assert finish == "sentence_end"
    assert raw == text
