"""Character spans ⇄ BIO tags over a fast tokenizer's words and offsets.

Pure Python and numpy, shared by the trainer (spans → labels for training) and the runtime
(tag scores → spans). A "word" is what the tokenizer's pre-tokenizer produced (`word_ids`);
only the first sub-word of each word carries a label, the others get IGNORE (-100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

IGNORE = -100  # the label id PyTorch's cross-entropy skips
OUTSIDE = "O"


@dataclass(frozen=True, slots=True)
class Span:
    """One entity: a label over text[start:end]."""

    label: str
    start: int
    end: int
    confidence: float = 1.0

    def text(self, source: str) -> str:
        """The entity's surface text in `source`."""
        return source[self.start : self.end]

    def as_dict(self, source: str) -> dict[str, Any]:
        """The plain-dict form that goes into an annotation (label, text, start, end, confidence)."""
        return {
            "label": self.label,
            "text": self.text(source),
            "start": self.start,
            "end": self.end,
            "confidence": round(float(self.confidence), 4),
        }


@dataclass(frozen=True, slots=True)
class Word:
    """One pre-tokenized word: its character range and the index of its first token."""

    start: int
    end: int
    first_token: int


def bio_labels(entity_labels: Sequence[str]) -> list[str]:
    """The tag set: O, then B-/I- for each entity label (sorted, so the order is stable)."""
    tags = [OUTSIDE]
    for label in sorted(set(entity_labels)):
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def words(word_ids: Sequence[int | None], offsets: Sequence[tuple[int, int]]) -> list[Word]:
    """The words of one encoding, in order; special and padding tokens (word id None) are skipped."""
    found: dict[int, list[int]] = {}
    for token, word in enumerate(word_ids):
        if word is None:
            continue
        start, end = offsets[token]
        if word not in found:
            found[word] = [start, end, token]
        else:
            found[word][0] = min(found[word][0], start)
            found[word][1] = max(found[word][1], end)
    return [Word(s, e, t) for s, e, t in (found[w] for w in sorted(found))]


def word_tags(spans: Sequence[Span], ws: Sequence[Word]) -> list[str]:
    """BIO tag of each word: a word belongs to the span its first character falls in."""
    tags = [OUTSIDE] * len(ws)
    for span in spans:
        inside = [i for i, w in enumerate(ws) if span.start <= w.start < span.end]
        for k, i in enumerate(inside):
            tags[i] = ("B-" if k == 0 else "I-") + span.label
    return tags


def token_label_ids(
    spans: Sequence[Span],
    word_ids: Sequence[int | None],
    offsets: Sequence[tuple[int, int]],
    tag_index: dict[str, int],
) -> list[int]:
    """Training labels per token: the word's tag id on its first sub-word, IGNORE elsewhere."""
    ws = words(word_ids, offsets)
    ids = [IGNORE] * len(word_ids)
    for word, tag in zip(ws, word_tags(spans, ws), strict=True):
        ids[word.first_token] = tag_index[tag]
    return ids


def tags_to_spans(
    tags: Sequence[str], ws: Sequence[Word], scores: Sequence[float] | None = None
) -> list[Span]:
    """Spans from word tags; an I- that does not continue its entity starts a new one (as conlleval)."""
    spans: list[Span] = []
    current: list[int] = []
    label = ""

    def close() -> None:
        if current:
            conf = float(np.mean([scores[i] for i in current])) if scores is not None else 1.0
            spans.append(Span(label, ws[current[0]].start, ws[current[-1]].end, conf))

    for i, tag in enumerate(tags):
        prefix, _, name = tag.partition("-")
        if tag == OUTSIDE or not name:
            close()
            current, label = [], ""
        elif prefix == "B" or name != label or not current:
            close()
            current, label = [i], name
        else:
            current.append(i)
    close()
    return spans


def decode(
    probs: np.ndarray,
    word_ids: Sequence[int | None],
    offsets: Sequence[tuple[int, int]],
    tags: Sequence[str],
    allowed: np.ndarray | None = None,
) -> list[Span]:
    """Spans from one text's per-token probabilities (tokens × tags), read at each word's first sub-word.

    `allowed` (a boolean per tag) restricts the choice, e.g. to the slots of a known intent.
    """
    ws = words(word_ids, offsets)
    if not ws:
        return []
    rows = probs[[w.first_token for w in ws]]
    if allowed is not None:
        rows = np.where(allowed, rows, 0.0)
    best = rows.argmax(-1)
    return tags_to_spans([tags[int(i)] for i in best], ws, [float(rows[k, i]) for k, i in enumerate(best)])
