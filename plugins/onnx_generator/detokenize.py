"""Turning a stream of token ids into a stream of text, honouring stop strings."""

from __future__ import annotations

from typing import Any


class IncrementalDetokenizer:
    """Emits only text that is final: no half UTF-8 characters, no possible start of a stop string.

    Decoding a window of recent tokens (not just the newest one) keeps spaces and multi-byte
    characters right for byte-level BPE tokenizers, as text-generation-inference does.
    """

    def __init__(self, tokenizer: Any, stop: tuple[str, ...] = ()) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.ids: list[int] = []
        self._prefix = 0  # start of the decode window
        self._read = 0  # tokens before this index are already turned into text
        self._pending = ""  # decoded text held back because it may begin a stop string
        self.stopped = False

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token: int) -> str:
        """Add one token; returns the text that can be shown now (may be empty)."""
        if self.stopped:
            return ""
        self.ids.append(token)
        before = self._decode(self.ids[self._prefix:self._read])
        after = self._decode(self.ids[self._prefix:])
        if after.endswith("\ufffd") or len(after) <= len(before):
            return ""  # an incomplete character: wait for the next token
        self._prefix, self._read = self._read, len(self.ids)
        return self._release(after[len(before):])

    def flush(self) -> str:
        """Text still held back when generation ends."""
        if self.stopped:
            return ""
        tail = self._decode(self.ids[self._prefix:])
        before = self._decode(self.ids[self._prefix:self._read])
        text = self._pending + tail[len(before):].replace("\ufffd", "")
        self._pending = ""
        return text

    def _release(self, text: str) -> str:
        text = self._pending + text
        for stop in self.stop:
            at = text.find(stop)
            if at >= 0:
                self.stopped = True
                self._pending = ""
                return text[:at]
        hold = _longest_stop_prefix_suffix(text, self.stop)
        self._pending = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold]


def _longest_stop_prefix_suffix(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that is the beginning of some stop string."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if stop.startswith(text[-n:]):
                best = n
                break
    return best
