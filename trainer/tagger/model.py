"""The tagging model (a token classifier, optionally with an intent head) and its encoded data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from interplay.core import ModelError
from interplay.plugins.entities import IGNORE, token_label_ids

from .data import TaggedExample


@dataclass
class TaggedEncoded:
    """Token ids of texts with per-token tag ids, intent ids and what decoding needs (words, offsets)."""

    ids: list[list[int]]
    tags: list[list[int]]
    intents: list[int]
    word_ids: list[list[int | None]]
    offsets: list[list[tuple[int, int]]]

    def __len__(self) -> int:
        return len(self.ids)


def encode_tagged(
    tokenizer: Any,
    rows: list[TaggedExample],
    tag_index: dict[str, int],
    intent_index: dict[str, int],
    max_length: int,
) -> TaggedEncoded:
    """Tokenize without padding and label each word's first sub-word from the character spans."""
    enc = tokenizer(
        [e.text for e in rows],
        truncation=True,
        max_length=max_length,
        padding=False,
        return_offsets_mapping=True,
    )
    out = TaggedEncoded([], [], [], [], [])
    for i, example in enumerate(rows):
        word_ids, offsets = enc.word_ids(i), [tuple(o) for o in enc["offset_mapping"][i]]
        out.ids.append(list(enc["input_ids"][i]))
        out.tags.append(token_label_ids(example.spans, word_ids, offsets, tag_index))
        out.intents.append(intent_index.get(example.intent, IGNORE) if example.intent else IGNORE)
        out.word_ids.append(list(word_ids))
        out.offsets.append(offsets)
    return out


def collate_tagged(
    enc: TaggedEncoded, rows: list[int], pad_id: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Padded input_ids, attention_mask, tag ids (IGNORE on padding) and intent ids."""
    width = max(len(enc.ids[i]) for i in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    tags = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for r, i in enumerate(rows):
        n = len(enc.ids[i])
        ids[r, :n] = torch.tensor(enc.ids[i])
        mask[r, :n] = 1
        tags[r, :n] = torch.tensor(enc.tags[i])
    intents = torch.tensor([enc.intents[i] for i in rows], dtype=torch.long)
    return {
        k: v.to(device)
        for k, v in {"input_ids": ids, "attention_mask": mask, "tags": tags, "intents": intents}.items()
    }


class JointTagger(torch.nn.Module):
    """A token classifier; with intents, also an intent head on the mean of the same encoder's states."""

    def __init__(self, tagger: Any, n_intents: int = 0) -> None:
        super().__init__()
        self.tagger = tagger
        hidden = tagger.config.hidden_size
        self.intent_head = (
            torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(hidden, n_intents))
            if n_intents
            else None
        )

    @property
    def base_model(self) -> Any:
        """The encoder (what `freeze_lower_layers` freezes)."""
        return self.tagger.base_model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """(tag logits: batch × tokens × tags, intent logits: batch × intents or None)."""
        states = self.tagger.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        tag_logits = self.tagger.classifier(self.tagger.dropout(states))
        if self.intent_head is None:
            return tag_logits, None
        weights = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return tag_logits, self.intent_head(pooled)


def load_tagger(base: str, tags: list[str], n_intents: int = 0) -> tuple[JointTagger, Any]:
    """(model, fast tokenizer): a token classifier with fresh heads for `tags` (and `n_intents`)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "newly initialized head" is expected, not news
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        tagger = AutoModelForTokenClassification.from_pretrained(
            base,
            num_labels=len(tags),
            id2label=dict(enumerate(tags)),
            label2id={t: i for i, t in enumerate(tags)},
            ignore_mismatched_sizes=True,
        )
    except OSError as exc:
        raise ModelError(
            f"cannot load the base encoder {base!r} ({exc.__class__.__name__}): pass --base with a local "
            "model directory (machines without internet cannot fetch hub ids)"
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"{base!r} has no fast tokenizer: character offsets (and the runtime) need one")
    for part in ("dropout", "classifier"):
        if not hasattr(tagger, part):
            raise ModelError(
                f"{base!r}: its token classifier has no `{part}` module; use a BERT-like encoder"
            )
    return JointTagger(tagger, n_intents), tokenizer
