"""Tokenize once, then cut padded tensor batches on demand (padding only to each batch's longest)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Encoded:
    """Token ids of a set of texts with their label ids (-1 where a text is unlabeled)."""

    ids: list[list[int]]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer: Any, texts: list[str], label_ids: list[int], max_length: int) -> Encoded:
    """Tokenize without padding; batches pad later."""
    out = tokenizer(texts, truncation=True, max_length=max_length, padding=False)
    return Encoded(list(out["input_ids"]), list(label_ids))


def collate(enc: Encoded, index: list[int], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and labels for the rows in `index`."""
    width = max(len(enc.ids[i]) for i in index)
    ids = torch.full((len(index), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(index), width), dtype=torch.long)
    for row, i in enumerate(index):
        seq = enc.ids[i]
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    labels = torch.tensor([enc.labels[i] for i in index], dtype=torch.long)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def shuffled_batches(n: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Row indices in random order, cut into batches."""
    order = list(range(n))
    rng.shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def bucketed_batches(
    lengths: list[int], batch_size: int, rng: random.Random, *, pool: int = 50
) -> list[list[int]]:
    """Random batches of similar length: shuffle, sort each pool of `pool` batches' rows by length,
    cut, shuffle the batches. Less padding (a CPU's time goes into the longest row of each batch),
    and the order of rows and batches stays random from epoch to epoch."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    chunk = batch_size * pool
    for start in range(0, len(order), chunk):
        rows = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    rng.shuffle(batches)
    return batches


def ordered_batches(enc: Encoded, batch_size: int) -> list[list[int]]:
    """Batches of similar length (for fast evaluation); results are put back in order by the caller."""
    order = sorted(range(len(enc)), key=lambda i: len(enc.ids[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
