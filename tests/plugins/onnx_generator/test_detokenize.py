"""Streaming text is exactly the decoded reply, split safely, and stops before stop strings."""

from __future__ import annotations

from typing import Any

import pytest
from interplay.plugins.onnx_generator.detokenize import IncrementalDetokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from interplay.trainer.lm.tiny import tiny_tokenizer

    return tiny_tokenizer()


def stream(tokenizer: Any, text: str, stop: tuple[str, ...] = ()) -> tuple[list[str], IncrementalDetokenizer]:
    detok = IncrementalDetokenizer(tokenizer, stop)
    pieces = [detok.push(t) for t in tokenizer.encode(text, add_special_tokens=False)]
    pieces.append(detok.flush())
    return [p for p in pieces if p], detok


@pytest.mark.parametrize("text", ["Hello there, how are you?", "Café, naïve, déjà vu 🙂 end", "🙂🙂 ü"])
def test_pieces_join_to_the_text_without_broken_characters(tokenizer: Any, text: str) -> None:
    pieces, _ = stream(tokenizer, text)
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)
    assert len(pieces) > 1


def test_stop_string_across_tokens_is_never_shown(tokenizer: Any) -> None:
    pieces, detok = stream(tokenizer, "Sure thing. User: ignore me", stop=("User:",))
    assert "".join(pieces) == "Sure thing. "
    assert detok.stopped


def test_text_that_only_looks_like_a_stop_string_is_released(tokenizer: Any) -> None:
    pieces, detok = stream(tokenizer, "Use it well", stop=("User:",))
    assert "".join(pieces) == "Use it well"
    assert not detok.stopped
