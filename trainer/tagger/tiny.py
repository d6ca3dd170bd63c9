"""A toy slot-tagging data set and its vocabulary, for tests and smoke runs with a tiny BERT."""

from __future__ import annotations

import json
import random
from pathlib import Path

CITIES = ["paris", "london", "berlin", "tokyo", "madrid", "new york", "são paulo"]
TIMES = ["tomorrow", "today", "tonight", "next week", "this weekend"]
ARTISTS = ["adele", "queen", "abba", "muse", "daft punk"]
WEATHER = [
    "weather in {city} {time}",
    "will it rain in {city} {time} ?",
    "{time} forecast for {city}",
    "is it sunny in {city}",
]
MUSIC = ["play {artist}", "play some {artist} {time}", "put on {artist} please"]
FILLER = [
    "weather",
    "in",
    "will",
    "it",
    "rain",
    "forecast",
    "for",
    "is",
    "sunny",
    "play",
    "some",
    "put",
    "on",
    "please",
]


def toy_rows(n: int, seed: int = 0) -> list[dict]:
    """JSONL rows with text, intent and character-span entities."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        intent = rng.choice(["GetWeather", "PlayMusic"])
        template = rng.choice(WEATHER if intent == "GetWeather" else MUSIC)
        values = {"city": rng.choice(CITIES), "time": rng.choice(TIMES), "artist": rng.choice(ARTISTS)}
        text, entities, rest = "", [], template
        while "{" in rest:
            before, _, tail = rest.partition("{")
            slot, _, rest = tail.partition("}")
            text += before
            entities.append({"start": len(text), "end": len(text) + len(values[slot]), "label": slot})
            text += values[slot]
        rows.append({"text": text + rest, "intent": intent, "entities": entities})
    return rows


def toy_vocab() -> list[str]:
    """WordPiece vocabulary covering the toy words (and characters for anything else)."""
    words = sorted({w for v in CITIES + TIMES + ARTISTS for w in v.split()} | set(FILLER))
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    return (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + words
        + chars
        + [f"##{c}" for c in chars]
        + list(".,!?'-:;()\"")
    )


def build_tiny_tagger_base(directory: Path) -> Path:
    """A 2-layer, 32-wide random BERT whose WordPiece vocabulary covers the toy data."""
    from ..classifier.tiny import build_tiny_bert

    return build_tiny_bert(directory, vocab=toy_vocab())


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """One JSON object a line."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def train_tiny_tagger(
    directory: Path,
    *,
    joint: bool = False,
    compare: bool = False,
    export: bool = True,
    rows: int = 300,
    epochs: int = 4,
) -> dict:
    """Train (and export) a tagger on toy data with a tiny BERT in `directory`; returns its metrics."""
    from ..classifier.config import TrainConfig
    from .run import TaggerSpec, train_tagger

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = build_tiny_tagger_base(directory / "base")
    train = write_jsonl(directory / "train.jsonl", toy_rows(rows, seed=0))
    test = write_jsonl(directory / "test.jsonl", toy_rows(60, seed=1))
    spec = TaggerSpec(
        train=train,
        test=test,
        out=directory / "run",
        base=str(base),
        mode="joint" if joint else "tags",
        compare=compare,
        export=export,
    )
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=3e-3, max_length=32, patience=0, progress=False)
    return train_tagger(spec, cfg)
