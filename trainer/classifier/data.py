"""Read `text,label` data files (CSV or JSONL, optionally gzipped) with errors a person can act on."""

from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
from dataclasses import dataclass
from pathlib import Path

from interplay.core import InterplayError


class DataFileError(InterplayError):
    """A data file cannot be used; the message says which file, which row and what to change."""


@dataclass(frozen=True, slots=True)
class Example:
    """One text with its label (None for unlabeled data)."""

    text: str
    label: str | None = None


COMPRESSED = {".gz": gzip.decompress, ".xz": lzma.decompress}


def _suffixes(path: Path) -> list[str]:
    parts = [s.lower() for s in path.suffixes]
    return parts[:-1] if parts and parts[-1] in COMPRESSED else parts


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        unpack = COMPRESSED.get(path.suffix.lower())
        raw = unpack(raw) if unpack else raw
    except FileNotFoundError:
        raise DataFileError(f"data file {path} does not exist: check the path") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataFileError(f"cannot read {path}: {exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataFileError(
            f"{path} is not UTF-8 text (byte 0x{bad} at offset {exc.start}): "
            "re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from None


def _csv_rows(path: Path, text: str) -> list[dict[str, str]]:
    delimiter = "\t" if ".tsv" in _suffixes(path) else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise DataFileError(
            f"{path}: malformed CSV at line {reader.line_num} ({exc}): fix the quoting"
        ) from None


def _jsonl_rows(path: Path, text: str) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(
                f"{path}: line {number} is not valid JSON ({exc.msg}): fix or remove it"
            ) from None
        if not isinstance(row, dict):
            raise DataFileError(f"{path}: line {number} is not a JSON object with 'text' and 'label' keys")
        rows.append(row)
    return rows


def read_rows(path: Path) -> list[dict[str, str]]:
    """Raw rows of a CSV/TSV or JSONL file (format from the extension)."""
    path = Path(path)
    text = _read_text(path)
    suffixes = _suffixes(path)
    if ".jsonl" in suffixes or ".json" in suffixes:
        return _jsonl_rows(path, text)
    if ".csv" in suffixes or ".tsv" in suffixes:
        return _csv_rows(path, text)
    raise DataFileError(f"{path}: unknown file type; use .csv, .tsv or .jsonl (optionally .gz or .xz)")


def _check_columns(path: Path, rows: list[dict[str, str]], needed: list[str]) -> None:
    if not rows:
        raise DataFileError(f"{path} has no data rows: add examples with columns {', '.join(needed)}")
    found = set(rows[0])
    missing = [c for c in needed if c not in found]
    if missing:
        have = ", ".join(sorted(str(c) for c in found if c is not None)) or "none"
        raise DataFileError(
            f"{path} has no '{missing[0]}' column (columns found: {have}); "
            f"the file needs a header with {', '.join(needed)}"
        )


def read_examples(
    path: Path, *, labeled: bool = True, text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """Examples from a data file; every labeled row needs a non-empty text and label."""
    path = Path(path)
    rows = read_rows(path)
    needed = [text_column, label_column] if labeled else [text_column]
    _check_columns(path, rows, needed)
    examples = []
    for number, row in enumerate(rows, start=2 if ".jsonl" not in _suffixes(path) else 1):
        text = str(row.get(text_column) or "").strip()
        if not text:
            raise DataFileError(
                f"{path}: row {number} has an empty '{text_column}': fill it in or delete the row"
            )
        label = None
        if labeled:
            label = str(row.get(label_column) or "").strip()
            if not label:
                raise DataFileError(
                    f"{path}: row {number} has an empty '{label_column}': label it, or move it to the "
                    "unlabeled file (--unlabeled)"
                )
        examples.append(Example(text, label))
    return examples


def label_list(train: list[Example], *others: list[Example], name: str = "validation") -> list[str]:
    """Sorted labels of the training data; other splits may not bring labels the model never saw."""
    labels = sorted({e.label for e in train if e.label is not None})
    if len(labels) < 2:
        raise DataFileError("the training data needs at least two different labels")
    known = set(labels)
    for split in others:
        unknown = sorted({e.label for e in split if e.label is not None} - known)
        if unknown:
            raise DataFileError(
                f"the {name} data has labels that training never sees ({', '.join(unknown[:5])}): "
                "add training examples for them or drop those rows"
            )
    return labels
