"""The default fine-tuning recipe, chosen from the data when no tuning flag is given.

What it encodes, and where the numbers come from (docs/nlu.md has the runs):
- learning rate 1e-4 for the encoder and 2e-3 for the new head: the recipe of
  trainer/experiments/clinc_full.sh, which reached 91.2% on a held-back 64-intent set in 11 min where
  the old default (5e-5, one rate) stayed under-trained (82.7% after 30 min on a 77-intent set);
- maximum length: the 99th percentile of the training texts' token lengths, rounded up to a multiple
  of 8 (padding and attention cost grow with it; longer texts are rare and keep their first tokens);
- epochs from the dataset size: about 1,250 optimizer steps in all, which is clinc_full.sh's 4 epochs
  for 10,000 rows at batch 32 (8 for 5,000 rows, 3 from 13,000 rows on), at least 3 and at most 10
  epochs, with early stopping on validation macro-F1. 2,000 steps (6 epochs of 10,000 rows) was the
  first choice; on 2 shared cores it would not fit a 10,000-row set in 20 minutes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ENCODER_LR = 1e-4
HEAD_LR = 2e-3
BATCH_SIZE = 32
TARGET_STEPS = 1250
MIN_EPOCHS, MAX_EPOCHS = 3, 10
MIN_LENGTH, MAX_LENGTH = 16, 128
PATIENCE = 2


def max_length_for(token_lengths: Sequence[int] | np.ndarray, *, quantile: float = 99.0) -> int:
    """A maximum length that keeps `quantile`% of texts whole, as a multiple of 8 in [16, 128]."""
    if len(token_lengths) == 0:
        return MIN_LENGTH
    covered = float(np.percentile(np.asarray(token_lengths), quantile))
    return int(min(MAX_LENGTH, max(MIN_LENGTH, 8 * math.ceil(covered / 8))))


def epochs_for(rows: int, batch_size: int = BATCH_SIZE) -> int:
    """Epochs so that training takes about TARGET_STEPS optimizer steps, within [3, 10]."""
    steps_per_epoch = max(1, math.ceil(rows / batch_size))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(TARGET_STEPS / steps_per_epoch))))


@dataclass(frozen=True)
class Recipe:
    """What the data chose, and why (printed into the run's report)."""

    lr: float
    head_lr: float
    epochs: int
    max_length: int
    batch_size: int
    patience: int
    reasons: dict[str, str]


def choose_recipe(token_lengths: Sequence[int] | np.ndarray, rows: int) -> Recipe:
    """The default recipe for `rows` training texts with these token lengths."""
    max_length = max_length_for(token_lengths)
    epochs = epochs_for(rows)
    p99 = float(np.percentile(np.asarray(token_lengths), 99)) if len(token_lengths) else 0.0
    steps = math.ceil(rows / BATCH_SIZE)
    return Recipe(
        lr=ENCODER_LR,
        head_lr=HEAD_LR,
        epochs=epochs,
        max_length=max_length,
        batch_size=BATCH_SIZE,
        patience=PATIENCE,
        reasons={
            "lr": f"{ENCODER_LR:g} encoder / {HEAD_LR:g} head (trainer/experiments/clinc_full.sh)",
            "epochs": f"{rows} rows = {steps} steps per epoch; ~{TARGET_STEPS} steps in all, "
            f"within [{MIN_EPOCHS}, {MAX_EPOCHS}] epochs; early stopping after {PATIENCE} epochs "
            "without a better validation macro-F1",
            "max_length": f"99% of training texts have <= {p99:.0f} tokens; rounded up to a multiple of 8",
        },
    )
