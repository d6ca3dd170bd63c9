"""Turning a stream of token ids into a stream of text, honouring stop strings."""

from __future__ import annotations

import re
from typing import Any

# a sentence is closed by . ! ? or … (optionally followed by closing quotes or brackets)
_CLOSED = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s*$")
_LIST_MARKER = re.compile(r"\n\s*\d{1,3}[.)]\s*$")  # "2." opening a numbered item closes nothing


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


class SentenceEnd:
    """Past `after` tokens, says when a reply can end: the text so far closes a sentence.

    Fed each text delta as it is released, it answers *before* the delta is shown, so the reply
    ends with the closed sentence and the next one is never begun. `after=0` never ends a reply.
    "3." followed by "5" is not a sentence end: the next delta must begin with whitespace, or the
    closed text must already end with it; nor is a numbered item's "2." at the start of a line.
    """

    def __init__(self, after: int) -> None:
        self.after = after
        self.tokens = 0
        self._tail = ""  # the last characters shown

    def count(self) -> None:
        """One more generated token (whether or not it released text)."""
        self.tokens += 1

    def ends_before(self, text: str) -> bool:
        """True when the reply should end instead of showing `text`; otherwise records it as shown."""
        tail = self._tail
        if self.after and self.tokens > self.after and self._closes(tail):
            if tail[-1:].isspace() or text[:1].isspace():
                return True
        self._tail = (tail + text)[-24:]
        return False

    @staticmethod
    def _closes(tail: str) -> bool:
        return bool(_CLOSED.search(tail)) and not _LIST_MARKER.search(tail)
