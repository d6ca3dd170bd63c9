"""Training options shared by the CLI, the defaults and the experiments."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TrainConfig:
    """How to fine-tune one classifier (plain or GAN-BERT)."""

    epochs: int = 5
    batch_size: int = 32
    eval_batch_size: int = 128
    lr: float = 5e-5
    head_lr: float | None = None  # learning rate of the new head (classifier + pooler); default: lr
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 64
    patience: int = 2  # epochs without a better validation macro-F1 before stopping; 0 = never stop early
    seed: int = 42
    device: str = "auto"
    max_steps: int | None = None  # hard cap on optimizer steps (tests, smoke runs)
    freeze_layers: int = 0  # freeze the embeddings and the lowest N encoder layers (faster on CPU)
    length_buckets: bool = False  # batch rows of similar length together (less padding: faster)
    gan: bool = False
    noise_dim: int = 100
    generator_lr: float | None = None  # default: lr
    max_unlabeled: int | None = None  # GAN: use at most this many unlabeled texts per run
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for metrics.json and the manifest."""
        return asdict(self)
