"""Read tagged data: JSONL with character-span entities (as snips_slots) and CoNLL-style BIO files."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interplay.plugins.entities import Span

from ..classifier.data import DataFileError, _jsonl_rows, _read_text, _suffixes


@dataclass(frozen=True, slots=True)
class TaggedExample:
    """One utterance, its entities (sorted character spans) and, when known, its intent."""

    text: str
    spans: tuple[Span, ...]
    intent: str | None = None


def _span(path: Path, number: int, text: str, raw: Any) -> Span:
    where = f"{path}: line {number}"
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: each entity must be an object with start, end and label")
    for key in ("start", "end", "label"):
        if key not in raw:
            raise DataFileError(f"{where}: an entity has no '{key}' field: add it (start, end, label)")
    start, end, label = raw["start"], raw["end"], str(raw["label"]).strip()
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= len(text):
        raise DataFileError(
            f"{where}: entity {label!r} has span [{start}, {end}) outside the text (length {len(text)}): "
            "start and end are character offsets with start < end <= len(text)"
        )
    if not label or label == "O" or " " in label:
        raise DataFileError(f"{where}: entity label {label!r} is not usable: give a name without spaces")
    if "value" in raw and raw["value"] != text[start:end]:
        raise DataFileError(
            f"{where}: entity {label!r} says value {raw['value']!r} but text[{start}:{end}] is "
            f"{text[start:end]!r}: fix the offsets"
        )
    return Span(label, start, end)


def _check_overlaps(path: Path, number: int, spans: list[Span]) -> None:
    for a, b in itertools.pairwise(spans):
        if b.start < a.end:
            raise DataFileError(
                f"{path}: line {number}: entities {a.label!r} [{a.start}, {a.end}) and {b.label!r} "
                f"[{b.start}, {b.end}) overlap: BIO tagging needs non-overlapping spans, keep one"
            )


def read_jsonl(path: Path) -> list[TaggedExample]:
    """Rows with `text`, `entities` (start, end, label[, value]) and optionally `intent`."""
    path = Path(path)
    rows = _jsonl_rows(path, _read_text(path))
    if not rows:
        raise DataFileError(f"{path} has no rows: add lines with text and entities")
    examples = []
    for number, row in enumerate(rows, start=1):
        for key in ("text", "entities"):
            if key not in row:
                raise DataFileError(
                    f"{path}: line {number} has no '{key}' field: each line needs text and entities"
                )
        text = str(row["text"])
        if not text.strip():
            raise DataFileError(f"{path}: line {number} has an empty text: fill it in or delete the line")
        if not isinstance(row["entities"], list):
            raise DataFileError(f"{path}: line {number}: 'entities' must be a list (possibly empty)")
        spans = sorted(
            (_span(path, number, text, e) for e in row["entities"]), key=lambda s: (s.start, s.end)
        )
        _check_overlaps(path, number, spans)
        intent = str(row["intent"]).strip() if row.get("intent") not in (None, "") else None
        examples.append(TaggedExample(text, tuple(spans), intent))
    return examples


def _conll_sentence(
    path: Path, line: int, tokens: list[tuple[str, str]], intent: str | None
) -> TaggedExample:
    """Join the tokens with single spaces and turn their BIO tags into character spans."""
    text, spans, open_span = "", [], None
    for token, tag in tokens:
        start = len(text) + (1 if text else 0)
        text = f"{text} {token}" if text else token
        prefix, _, label = tag.partition("-")
        if tag == "O" or prefix not in ("B", "I") or not label:
            if tag != "O":
                raise DataFileError(f"{path}: line {line}: tag {tag!r} is not O, B-<label> or I-<label>")
            open_span = None
            continue
        if prefix == "I" and open_span is not None and open_span[0] == label:
            open_span[2] = len(text)
        else:
            open_span = [label, start, len(text)]
            spans.append(open_span)
    return TaggedExample(text, tuple(Span(lab, s, e) for lab, s, e in spans), intent)


def read_conll(path: Path) -> list[TaggedExample]:
    """Token-per-line files (token ... tag, last column the BIO tag), blank lines between sentences.

    A line `# intent = <name>` before a sentence gives its intent.
    """
    path = Path(path)
    examples: list[TaggedExample] = []
    tokens: list[tuple[str, str]] = []
    intent: str | None = None
    lines = [*_read_text(path).splitlines(), ""]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("# intent"):
            intent = line.partition("=")[2].strip() or None
        elif not line or line.startswith("-DOCSTART-"):
            if tokens:
                examples.append(_conll_sentence(path, number, tokens, intent))
            tokens, intent = [], None
        elif not line.startswith("#"):
            parts = line.split()
            if len(parts) < 2:
                raise DataFileError(f"{path}: line {number} has no tag column: write `token tag` per line")
            tokens.append((parts[0], parts[-1]))
    if not examples:
        raise DataFileError(f"{path} holds no sentences: write one `token tag` line per token")
    return examples


def read_tagged(path: Path) -> list[TaggedExample]:
    """JSONL (.jsonl/.json) or CoNLL (.conll/.bio/.txt/.tsv), optionally gzipped."""
    suffixes = _suffixes(Path(path))
    if ".jsonl" in suffixes or ".json" in suffixes:
        return read_jsonl(path)
    if {".conll", ".bio", ".txt", ".tsv", ".iob"} & set(suffixes):
        return read_conll(path)
    raise DataFileError(f"{path}: unknown file type; use .jsonl (character spans) or .conll (BIO tags)")


def entity_labels(*splits: list[TaggedExample]) -> list[str]:
    """Sorted entity labels over the given splits."""
    return sorted({s.label for split in splits for e in split for s in e.spans})


def shots_per_intent(
    rows: list[TaggedExample], n: int, seed: int
) -> tuple[list[TaggedExample], list[TaggedExample]]:
    """(n random rows of each intent, the rest); rows without an intent are an error here."""
    if any(e.intent is None for e in rows):
        raise DataFileError("--shots-per-intent needs an intent on every training row (JSONL 'intent')")
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(rows):
        by_intent[str(e.intent)].append(i)
    rng = random.Random(seed)
    keep = {
        i for name in sorted(by_intent) for i in rng.sample(by_intent[name], min(n, len(by_intent[name])))
    }
    return [e for i, e in enumerate(rows) if i in keep], [e for i, e in enumerate(rows) if i not in keep]


def holdout(
    rows: list[TaggedExample], fraction: float, seed: int
) -> tuple[list[TaggedExample], list[TaggedExample]]:
    """(train, validation): a random `fraction` held out (at least one row when there are two)."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    k = min(max(1, round(fraction * len(rows))), len(rows) - 1) if len(rows) > 1 else 0
    held = set(order[:k])
    return [e for i, e in enumerate(rows) if i not in held], [e for i, e in enumerate(rows) if i in held]
