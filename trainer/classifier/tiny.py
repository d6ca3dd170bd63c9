"""A tiny random BERT with its own WordPiece vocabulary, for tests and smoke runs (seconds on a CPU)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# a toy intent set whose classes differ by words, so a few steps suffice to learn them
TOY_INTENTS: dict[str, list[str]] = {
    "greet": ["hello", "hi", "hey", "morning", "greetings"],
    "weather": ["rain", "sunny", "forecast", "cloudy", "umbrella"],
    "goodbye": ["bye", "later", "farewell", "night", "leaving"],
    "oos": ["banana", "quantum", "guitar", "volcano", "pencil"],
}
FILLER = ["please", "the", "is", "it", "today", "you", "what", "so", "and", "now"]


def toy_vocab() -> list[str]:
    """Special tokens, the toy words and a few characters for WordPiece fallback."""
    words = sorted({w for ws in TOY_INTENTS.values() for w in ws} | set(FILLER))
    chars = [c for c in "abcdefghijklmnopqrstuvwxyz"] + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    return SPECIAL + words + chars + [".", ",", "!", "?", "'"]


def build_tiny_bert(directory: Path, vocab: list[str] | None = None, seed: int = 0) -> Path:
    """Write a 2-layer, 32-wide BERT (random weights) with a fast tokenizer into `directory`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab or toy_vocab()) + "\n", encoding="utf-8")
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab or toy_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.2,
    )
    BertModel(config).save_pretrained(directory)
    BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True).save_pretrained(directory)
    return directory


def toy_examples(n_per_class: int, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) pairs: each text mixes two words of its class with filler."""
    rng = random.Random(seed)
    rows = []
    for label, words in TOY_INTENTS.items():
        for _ in range(n_per_class):
            parts = rng.sample(words, 2) + rng.sample(FILLER, 2)
            rng.shuffle(parts)
            rows.append((" ".join(parts), label))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A `text,label` CSV file."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path
