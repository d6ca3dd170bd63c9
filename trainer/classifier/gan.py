"""GAN-BERT (Croce et al., ACL 2020): semi-supervised training with a generator of fake representations.

The discriminator is the classifier's own head: BERT's pooler (dense + tanh, whose output serves as the
feature layer for feature matching) and the linear layer, widened to k + 1 outputs where the last one
means "fake". The generator maps noise to vectors in the space of the encoder's [CLS] state. After
training the fake row is cut from the linear layer, so the exported model is a plain k-class classifier
whose softmax equals GAN-BERT's distribution over the real classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .batches import Encoded, collate, shuffled_batches
from .config import TrainConfig
from .splits import replication_factor
from .train import Trainer

FAKE_LABEL = "__fake__"
EPS = 1e-8


class Generator(nn.Module):
    """Noise to a fake [CLS] representation: one hidden layer, LeakyReLU, dropout (as in the paper)."""

    def __init__(self, noise_dim: int, hidden: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.net = nn.Sequential(
            nn.Linear(noise_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(hidden, hidden)
        )

    def forward(self, n: int, device: torch.device) -> torch.Tensor:
        return self.net(torch.rand(n, self.noise_dim, device=device))  # uniform noise, as the reference code


def discriminate(model: Any, cls_state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, logits) of the classifier head for [CLS] states, real or fake."""
    pooler = model.base_model.pooler
    features = pooler.activation(pooler.dense(cls_state))
    return features, model.classifier(model.dropout(features))


def strip_fake_class(model: Any, n_real: int, labels: list[str]) -> None:
    """Cut the fake row from the head so the model is a plain `n_real`-class classifier."""
    old = model.classifier
    new = nn.Linear(old.in_features, n_real, bias=old.bias is not None).to(old.weight.device)
    with torch.no_grad():
        new.weight.copy_(old.weight[:n_real])
        if old.bias is not None:
            new.bias.copy_(old.bias[:n_real])
    model.classifier = new
    model.num_labels = n_real
    model.config.num_labels = n_real
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: i for i, label in enumerate(labels)}


class GanTrainer(Trainer):
    """Trains encoder + discriminator head and a generator on labeled and unlabeled batches."""

    def __init__(self, model: Any, cfg: TrainConfig, pad_id: int) -> None:
        if not hasattr(model.base_model, "pooler") or model.base_model.pooler is None:
            raise ValueError("GAN-BERT mode needs a BERT-style encoder with a pooler")
        super().__init__(model, cfg, pad_id)
        self.n_real = model.config.num_labels - 1
        self.generator = Generator(cfg.noise_dim, model.config.hidden_size).to(self.device)
        self.g_optimizer = torch.optim.AdamW(self.generator.parameters(), lr=cfg.generator_lr or cfg.lr)

    def epoch_batches(self, train: Encoded, unlabeled: Encoded | None) -> list[tuple[Encoded, list[int]]]:
        """Labeled rows (repeated so they are not drowned out) mixed with unlabeled rows."""
        pool = self._pool(train, unlabeled)
        return [(pool, rows) for rows in shuffled_batches(len(pool), self.cfg.batch_size, self.rng)]

    def _pool(self, train: Encoded, unlabeled: Encoded | None) -> Encoded:
        if getattr(self, "_cached_pool", None) is None:
            u_ids = unlabeled.ids if unlabeled is not None else []
            times = replication_factor(len(train), len(u_ids))
            ids = train.ids * times + list(u_ids)
            labels = train.labels * times + [-1] * len(u_ids)
            self._cached_pool = Encoded(ids, labels)
        return self._cached_pool

    def step(self, source: Encoded, rows: list[int]) -> tuple[float, int, int]:
        """One discriminator step and one generator step on the same batch."""
        batch = collate(source, rows, self.pad_id, self.device)
        with self.autocast():
            hidden = self.model.base_model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            )
            real_cls = hidden.last_hidden_state[:, 0].float()
        fake_cls = self.generator(len(rows), self.device)
        d_loss, logits = self._discriminator_loss(real_cls, fake_cls.detach(), batch["labels"])
        self.optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self._generator_step(real_cls.detach(), fake_cls)
        mask = batch["labels"] >= 0
        correct = int((logits[mask, : self.n_real].argmax(-1) == batch["labels"][mask]).sum())
        return float(d_loss.detach()), correct, int(mask.sum())

    def _discriminator_loss(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _, real_logits = discriminate(self.model, real)
        _, fake_logits = discriminate(self.model, fake)
        mask = labels >= 0
        supervised = real_logits.new_zeros(())
        if mask.any():
            log_probs = torch.log_softmax(real_logits[mask, : self.n_real], dim=-1)
            supervised = -log_probs.gather(1, labels[mask].unsqueeze(1)).mean()
        real_fake_prob = torch.softmax(real_logits, dim=-1)[:, -1]
        fake_fake_prob = torch.softmax(fake_logits, dim=-1)[:, -1]
        unsupervised = -torch.log(1 - real_fake_prob + EPS).mean() - torch.log(fake_fake_prob + EPS).mean()
        return supervised + unsupervised, real_logits.detach()

    def _generator_step(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        real_features, _ = discriminate(self.model, real)
        fake_features, fake_logits = discriminate(self.model, fake)
        fool = -torch.log(1 - torch.softmax(fake_logits, dim=-1)[:, -1] + EPS).mean()
        matching = (real_features.mean(0).detach() - fake_features.mean(0)).pow(2).mean()
        self.g_optimizer.zero_grad(set_to_none=True)
        (fool + matching).backward()
        self.g_optimizer.step()  # the head's gradients from this loss are discarded at the next D step

    def validation_logits(self, val: Encoded) -> np.ndarray:
        """Validation logits over the real classes only."""
        return super().validation_logits(val)[:, : self.n_real]
