"""Stratified ways to cut a labeled set: few shots, a fraction, a hold-out, K folds, a subsample."""

from __future__ import annotations

import math
import random
from collections import defaultdict

from .data import DataFileError, Example


def by_label(examples: list[Example]) -> dict[str, list[Example]]:
    """Examples grouped by label, in first-seen order."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[str(example.label)].append(example)
    return dict(groups)


def _take_per_label(
    examples: list[Example], count_for: dict[str, int], seed: int
) -> tuple[list[Example], list[Example]]:
    rng = random.Random(seed)
    taken: list[Example] = []
    rest: list[Example] = []
    for label, group in sorted(by_label(examples).items()):
        shuffled = group[:]
        rng.shuffle(shuffled)
        n = count_for[label]
        taken.extend(shuffled[:n])
        rest.extend(shuffled[n:])
    rng.shuffle(taken)
    rng.shuffle(rest)
    return taken, rest


def shots_per_class(examples: list[Example], shots: int, seed: int) -> tuple[list[Example], list[Example]]:
    """`shots` labeled examples per class; the rest become unlabeled (labels dropped)."""
    if shots < 1:
        raise DataFileError("--shots-per-class must be at least 1")
    taken, rest = _take_per_label(examples, {k: shots for k in by_label(examples)}, seed)
    return taken, [Example(e.text) for e in rest]


def label_fraction(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Keep `fraction` of each class labeled (at least one); the rest become unlabeled."""
    if not 0 < fraction <= 1:
        raise DataFileError("--label-fraction must be in (0, 1]")
    counts = {k: max(1, round(len(v) * fraction)) for k, v in by_label(examples).items()}
    taken, rest = _take_per_label(examples, counts, seed)
    return taken, [Example(e.text) for e in rest]


def holdout(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, validation): `fraction` of each class held out, at least one where a class has two."""
    counts = {k: min(len(v) - 1, max(1, round(len(v) * fraction))) for k, v in by_label(examples).items()}
    validation, train = _take_per_label(examples, counts, seed)
    return train, validation


def subsample(examples: list[Example], per_class: int, seed: int) -> list[Example]:
    """At most `per_class` examples of each class (for quick first runs)."""
    counts = {k: min(len(v), per_class) for k, v in by_label(examples).items()}
    return _take_per_label(examples, counts, seed)[0]


def kfold(examples: list[Example], k: int, seed: int) -> list[tuple[list[Example], list[Example]]]:
    """K stratified (train, validation) pairs; each example is validated exactly once."""
    if k < 2:
        raise DataFileError("--folds must be at least 2")
    rng = random.Random(seed)
    folds: list[list[Example]] = [[] for _ in range(k)]
    offset = 0
    for _, group in sorted(by_label(examples).items()):
        shuffled = group[:]
        rng.shuffle(shuffled)
        for i, example in enumerate(shuffled):
            folds[(offset + i) % k].append(example)
        offset += len(shuffled)  # spread small classes over different folds
    return [([e for j, f in enumerate(folds) if j != i for e in f], folds[i]) for i in range(k)]


def replication_factor(n_labeled: int, n_unlabeled: int) -> int:
    """How often GAN-BERT repeats labeled examples per epoch so they are not drowned out."""
    if n_labeled == 0 or n_unlabeled <= n_labeled:
        return 1
    return max(1, int(math.log2(n_unlabeled / n_labeled)))
