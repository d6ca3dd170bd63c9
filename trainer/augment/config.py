"""Options of one augmentation run, shared by the CLI, `--compare` and the bench script."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class AugmentConfig:
    """How many rounds, how to sample, how strictly to filter and whether to update the generator."""

    rounds: int = 3
    per_label: int = 8  # candidates proposed per label and temperature in each round
    temperatures: tuple[float, ...] = (0.7, 1.0, 1.3)
    top_p: float = 0.95
    max_new_tokens: int = 24
    prompt_examples: int = 5  # real examples shown in each prompt (shuffled per prompt)
    batch_size: int = 32  # sequences generated together
    threshold: float = 0.5  # discriminator P(real) a sample must reach
    check_label: bool = True  # also require the current classifier to assign the intended label
    filter: bool = True  # False: keep every deduplicated sample (the unfiltered LM baseline)
    max_per_label: int = 10  # accepted samples kept per label over all rounds
    generator_updates: bool = False  # fine-tune the generator on accepted samples between rounds
    generator_steps: int = 8
    generator_lr: float = 2e-5
    generator_batch_size: int = 8
    real_pool: int = 2000  # extra real texts (unlabeled pool) the discriminator may learn from
    skip_labels: tuple[str, ...] = ("oos",)  # labels never generated (out-of-scope is not an intent)
    examples_in_report: int = 3
    seed: int = 0
    progress: bool = True
    device: str = "cpu"
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for reports."""
        out = asdict(self)
        out["temperatures"] = list(self.temperatures)
        out["skip_labels"] = list(self.skip_labels)
        return out
