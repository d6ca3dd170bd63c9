"""Selection: deduplicate, then keep samples that look real and that the classifier files correctly."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import numpy as np

from .proposer import Candidate

_NON_WORD = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """The form two texts are compared in: case, accents' forms, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def dedupe(candidates: list[Candidate], seen: Iterable[str]) -> list[Candidate]:
    """Candidates whose text is new: not in `seen` (training data, earlier accepts), nor repeated."""
    known = {normalize(t) for t in seen}
    kept = []
    for c in candidates:
        key = normalize(c.text)
        if key and key not in known:
            known.add(key)
            kept.append(c)
    return kept


class LabelChecker:
    """The current classifier as selection sees it: logistic regression on sentence embeddings.

    It is refit each round on the labeled rows plus the samples accepted so far, so it tracks the
    classifier the augmented data will train; it is a cheap stand-in for the fine-tuned model.
    """

    def __init__(self, c: float = 10.0) -> None:
        self.c = c
        self.head: object | None = None

    def fit(self, x: np.ndarray, labels: list[str]) -> LabelChecker:
        from sklearn.linear_model import LogisticRegression

        self.head = LogisticRegression(C=self.c, max_iter=2000)
        self.head.fit(x, labels)  # type: ignore[attr-defined]
        return self

    def predict(self, x: np.ndarray) -> list[str]:
        if self.head is None:
            raise RuntimeError("LabelChecker.predict before fit")
        return [str(v) for v in self.head.predict(x)]  # type: ignore[attr-defined]


def select(
    candidates: list[Candidate],
    real_scores: np.ndarray | None,
    predicted: list[str] | None,
    threshold: float,
) -> list[bool]:
    """The rule: P(real) >= threshold (if scored) and predicted label == intended (if checked)."""
    keep = []
    for i, c in enumerate(candidates):
        ok = real_scores is None or real_scores[i] >= threshold
        ok = ok and (predicted is None or predicted[i] == c.label)
        keep.append(bool(ok))
    return keep


def cap_per_label(
    accepted: list[Candidate], already: Counter[str], limit: int, scores: list[float] | None = None
) -> list[Candidate]:
    """At most `limit` per label in total; the most real-looking first when scores are given."""
    order = range(len(accepted))
    if scores is not None:
        order = sorted(order, key=lambda i: -scores[i])
    counts = Counter(already)
    kept = []
    for i in order:
        c = accepted[i]
        if counts[c.label] < limit:
            counts[c.label] += 1
            kept.append(c)
    return kept
