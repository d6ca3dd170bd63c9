"""Splitting long replies into Telegram-sized messages, on paragraph or word boundaries."""

from __future__ import annotations

MAX_LENGTH = 4096  # Telegram's limit for one message, counted in UTF-16 code units
PLACEHOLDER = "…"  # Telegram refuses empty messages


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP (most emoji) count twice."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    if utf16_len(text) <= limit:
        return len(text)
    units = 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def _cut(window: str) -> int:
    """Where to end a chunk inside `window`: a paragraph, else a line, else a word, else anywhere."""
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at > len(window) // 4:  # a boundary near the start would leave a tiny chunk
            return at
    return len(window)


def split_text(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """Chunks of at most `limit` units each; never empty, never splitting a character."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        size = _fit(rest, limit)
        if size == len(rest):
            chunks.append(rest)
            break
        cut = _cut(rest[:size])
        chunk = rest[:cut].rstrip()
        chunks.append(chunk or rest[:size])
        rest = rest[cut if chunk else size:].lstrip()
    return chunks or [PLACEHOLDER]
