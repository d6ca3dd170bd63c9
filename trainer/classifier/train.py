"""Fine-tuning: AdamW with weight decay, linear warm-up and decay, early stopping on validation macro-F1."""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .batches import Encoded, bucketed_batches, collate, shuffled_batches
from .config import TrainConfig
from .encoder import pick_device
from .evaluate import classification_metrics, cross_entropy, predict_logits


@dataclass
class EpochRecord:
    """Loss and validation scores after one epoch."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    val_macro_f1: float | None = None


@dataclass
class FitResult:
    """What training produced: the best model (already loaded) and its history."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    steps: int = 0
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    """Same seed, same run (on the same hardware)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def freeze_lower_layers(model: Any, n_layers: int) -> None:
    """Stop gradients in the embeddings and the lowest `n_layers` encoder layers."""
    if n_layers <= 0:
        return
    base = model.base_model
    for param in base.embeddings.parameters():
        param.requires_grad = False
    for layer in base.encoder.layer[:n_layers]:
        for param in layer.parameters():
            param.requires_grad = False


def adamw(
    params: list[tuple[str, torch.nn.Parameter]], lr: float, weight_decay: float, head_lr: float | None = None
) -> torch.optim.AdamW:
    """AdamW that leaves biases and LayerNorm weights undecayed; the fresh head may learn faster."""
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = []
    for is_head in (False, True):
        for decay in (True, False):
            chosen = [
                p
                for n, p in params
                if p.requires_grad and _is_head(n) == is_head and n.endswith(no_decay) != decay
            ]
            if chosen:
                rate = head_lr if is_head and head_lr else lr
                groups.append({"params": chosen, "weight_decay": weight_decay if decay else 0.0, "lr": rate})
    return torch.optim.AdamW(groups, lr=lr)


def _is_head(name: str) -> bool:
    """The classification head and the pooler under it (a new task's part of the network)."""
    return name.startswith("classifier") or ".pooler." in name


class Trainer:
    """Plain supervised fine-tuning of a sequence classifier."""

    def __init__(self, model: Any, cfg: TrainConfig, pad_id: int) -> None:
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        self.model = model.to(self.device)
        self.pad_id = pad_id
        freeze_lower_layers(model, cfg.freeze_layers)
        self.optimizer = adamw(list(model.named_parameters()), cfg.lr, cfg.weight_decay, cfg.head_lr)
        self.rng = random.Random(cfg.seed)

    def autocast(self) -> Any:
        """bf16 autocast on GPU; a no-op on CPU."""
        on_gpu = self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=on_gpu)

    def epoch_batches(self, train: Encoded, unlabeled: Encoded | None) -> list[tuple[Encoded, list[int]]]:
        """(source, rows) batches for one epoch; plain training uses labeled data only."""
        if self.cfg.length_buckets:
            lengths = [len(ids) for ids in train.ids]
            return [(train, rows) for rows in bucketed_batches(lengths, self.cfg.batch_size, self.rng)]
        return [(train, rows) for rows in shuffled_batches(len(train), self.cfg.batch_size, self.rng)]

    def step(self, source: Encoded, rows: list[int]) -> tuple[float, int, int]:
        """One optimizer step; returns (loss, correct, labeled rows)."""
        batch = collate(source, rows, self.pad_id, self.device)
        with self.autocast():
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), batch["labels"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        correct = int((logits.argmax(-1) == batch["labels"]).sum())
        return float(loss.detach()), correct, len(rows)

    def validation_logits(self, val: Encoded) -> np.ndarray:
        """Logits on the validation set (subclasses may hide extra outputs)."""
        return predict_logits(
            self.model, val, batch_size=self.cfg.eval_batch_size, pad_id=self.pad_id, device=self.device
        )

    def fit(
        self, train: Encoded, val: Encoded | None, labels: list[str], unlabeled: Encoded | None = None
    ) -> FitResult:
        """Train for the configured epochs; keep and restore the best epoch by validation macro-F1."""
        from transformers import get_linear_schedule_with_warmup

        seed_everything(self.cfg.seed)
        per_epoch = len(self.epoch_batches(train, unlabeled))
        total = per_epoch * self.cfg.epochs
        if self.cfg.max_steps:
            total = min(total, self.cfg.max_steps)
        scheduler = get_linear_schedule_with_warmup(self.optimizer, int(total * self.cfg.warmup_ratio), total)
        result, best_f1, best_state, stale = FitResult(), -1.0, None, 0
        started = time.perf_counter()
        for epoch in range(1, self.cfg.epochs + 1):
            record = self._run_epoch(epoch, train, unlabeled, scheduler, result, total)
            if val is not None and len(val):
                self._score(record, val, labels)
            result.history.append(record)
            score = record.val_macro_f1 if record.val_macro_f1 is not None else -record.train_loss
            if score > best_f1:
                best_f1, best_state, stale, result.best_epoch = score, self._snapshot(), 0, epoch
            else:
                stale += 1
            if (self.cfg.patience and stale >= self.cfg.patience) or result.steps >= total:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        result.seconds = time.perf_counter() - started
        return result

    def _run_epoch(
        self,
        epoch: int,
        train: Encoded,
        unlabeled: Encoded | None,
        scheduler: Any,
        result: FitResult,
        total: int,
    ) -> EpochRecord:
        self.model.train()
        losses, correct, seen = [], 0, 0
        batches = self.epoch_batches(train, unlabeled)
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{self.cfg.epochs}", disable=not self.cfg.progress, leave=False
        )
        for source, rows in bar:
            if result.steps >= total:
                break
            loss, ok, n = self.step(source, rows)
            scheduler.step()
            result.steps += 1
            losses.append(loss)
            correct, seen = correct + ok, seen + n
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        return EpochRecord(epoch, float(np.mean(losses)) if losses else 0.0, correct / max(seen, 1))

    def _score(self, record: EpochRecord, val: Encoded, labels: list[str]) -> None:
        logits = self.validation_logits(val)
        y = np.array(val.labels)
        metrics = classification_metrics(y, logits.argmax(1), labels)
        record.val_loss = cross_entropy(logits, y)
        record.val_accuracy = metrics["accuracy"]
        record.val_macro_f1 = metrics["macro_f1"]

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})
