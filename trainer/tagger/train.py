"""Fine-tuning a tagger with the classifier trainer's loop (AdamW, warm-up, early stopping, seeds)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from interplay.plugins.entities import IGNORE

from ..classifier.config import TrainConfig
from ..classifier.train import EpochRecord, Trainer
from .data import TaggedExample
from .evaluate import entity_report, intent_accuracy, predict, predicted_spans, word_sequences
from .model import JointTagger, TaggedEncoded, collate_tagged


class TaggerTrainer(Trainer):
    """The classifier `Trainer` with a token-level loss (plus the intent loss for a joint model).

    Early stopping and the best-epoch choice use validation entity micro-F1 (for a joint model,
    its mean with intent accuracy), stored in the history's `val_macro_f1` field.
    """

    def __init__(
        self,
        model: JointTagger,
        cfg: TrainConfig,
        pad_id: int,
        *,
        tags: list[str],
        intents: list[str],
        validation_rows: list[TaggedExample],
        intent_weight: float = 1.0,
    ) -> None:
        super().__init__(model, cfg, pad_id)
        self.tags, self.intents = tags, intents
        self.validation_rows = validation_rows
        self.intent_weight = intent_weight

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed loss, tag logits): token cross-entropy over labelled sub-words (+ weighted intent loss)."""
        with self.autocast():
            tag_logits, intent_logits = self.model(batch["input_ids"], batch["attention_mask"])
        loss = torch.nn.functional.cross_entropy(
            tag_logits.float().flatten(0, 1), batch["tags"].flatten(), ignore_index=IGNORE
        )
        if intent_logits is not None and (batch["intents"] != IGNORE).any():
            loss = loss + self.intent_weight * torch.nn.functional.cross_entropy(
                intent_logits.float(), batch["intents"], ignore_index=IGNORE
            )
        return loss, tag_logits

    def step(self, source: Any, rows: list[int]) -> tuple[float, int, int]:
        """One optimizer step; returns (loss, correct labelled tokens, labelled tokens)."""
        batch = collate_tagged(source, rows, self.pad_id, self.device)
        loss, tag_logits = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        labelled = batch["tags"] != IGNORE
        correct = int(((tag_logits.argmax(-1) == batch["tags"]) & labelled).sum())
        return float(loss.detach()), correct, int(labelled.sum())

    @torch.no_grad()
    def _validation_loss(self, val: TaggedEncoded) -> float:
        self.model.eval()
        losses = [
            float(self.loss(collate_tagged(val, rows, self.pad_id, self.device))[0])
            for rows in (
                list(range(i, min(i + self.cfg.eval_batch_size, len(val))))
                for i in range(0, len(val), self.cfg.eval_batch_size)
            )
        ]
        return float(np.mean(losses))

    def _score(self, record: EpochRecord, val: Any, labels: list[str]) -> None:
        preds = predict(
            self.model, val, batch_size=self.cfg.eval_batch_size, pad_id=self.pad_id, device=self.device
        )
        gold, guess = word_sequences(
            val, self.validation_rows, predicted_spans(val, preds.tag_logits, self.tags)
        )
        f1 = entity_report(gold, guess)["micro"]["f1"]
        record.val_loss = self._validation_loss(val)
        record.val_accuracy = f1
        record.val_macro_f1 = f1
        if preds.intent_logits is not None:
            acc = intent_accuracy(
                self.validation_rows, [self.intents[i] for i in preds.intent_logits.argmax(1)]
            )
            record.val_accuracy = acc
            record.val_macro_f1 = (f1 + acc) / 2
