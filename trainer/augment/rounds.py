"""The adversarial rounds: propose, deduplicate, score, select, (update the generator), report."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..classifier.data import Example
from .config import AugmentConfig
from .discriminator import Discriminator
from .generator_update import GeneratorUpdater, training_pairs
from .proposer import Candidate, Proposer, usable
from .selection import LabelChecker, cap_per_label, dedupe, select


@dataclass
class RoundReport:
    """What one round proposed, what survived each filter and what the generator learned."""

    round: int
    proposed: int
    usable: int
    new: int
    passed_discriminator: int | None
    passed_label_check: int | None
    accepted: int
    acceptance_rate: float  # accepted / proposed
    by_temperature: dict[str, dict[str, int]]
    discriminator: dict[str, Any] | None
    generator_update: dict[str, Any] | None
    accepted_examples: list[dict[str, Any]]
    rejected_examples: list[dict[str, Any]]
    seconds: float


@dataclass
class AugmentResult:
    """The accepted samples, every new candidate (for the unfiltered baseline) and the round reports."""

    accepted: list[Candidate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    first_round: list[Candidate] = field(default_factory=list)  # raw proposals, for arms that share them
    rounds: list[RoundReport] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> list[Example]:
        """Accepted samples as labeled training rows."""
        return [Example(c.text, c.label) for c in self.accepted]

    def per_label(self) -> dict[str, int]:
        return dict(sorted(Counter(c.label for c in self.accepted).items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "candidates": len(self.candidates),
            "per_label": self.per_label(),
            "rounds": [asdict(r) for r in self.rounds],
            "seconds": self.seconds,
        }


def label_groups(labeled: list[Example], cfg: AugmentConfig) -> dict[str, list[str]]:
    """label -> real texts, for every label that is generated."""
    groups: dict[str, list[str]] = {}
    for e in labeled:
        if e.label is not None and e.label not in cfg.skip_labels:
            groups.setdefault(e.label, []).append(e.text)
    return dict(sorted(groups.items()))


class Augmenter:
    """Runs the rounds for one labeled set; the proposer's model may be changed by updates."""

    def __init__(self, proposer: Proposer, embed: Any, cfg: AugmentConfig) -> None:
        self.proposer = proposer
        self.embed = embed  # texts -> unit vectors (SentenceEncoder or a stand-in)
        self.cfg = cfg
        self.discriminator = Discriminator(seed=cfg.seed)
        self.updater: GeneratorUpdater | None = None
        if cfg.generator_updates:
            self.updater = GeneratorUpdater(proposer.model, proposer.tokenizer, cfg)

    def run(
        self, labeled: list[Example], real_pool: list[str] = (), first_round: list[Candidate] | None = None
    ) -> AugmentResult:
        """All rounds; `first_round` reuses proposals another arm already made with the same generator."""
        started = time.perf_counter()
        groups = label_groups(labeled, self.cfg)
        real = [e.text for e in labeled] + list(real_pool)[: self.cfg.real_pool]
        result = AugmentResult()
        for round_no in range(1, self.cfg.rounds + 1):
            counts = Counter(c.label for c in result.accepted)
            wanted = {k: v for k, v in groups.items() if counts[k] < self.cfg.max_per_label}
            if not wanted:
                break
            round_started = time.perf_counter()  # the report's seconds include proposing and updating
            given = first_round if round_no == 1 and first_round is not None else None
            proposed = given if given is not None else self.proposer.propose(wanted, round_no)
            proposed = [c for c in proposed if c.label in wanted]
            if round_no == 1:
                result.first_round = proposed
            report = self._round(round_no, proposed, labeled, real, groups, result)
            report.seconds = time.perf_counter() - round_started
            result.rounds.append(report)
        result.seconds = time.perf_counter() - started
        return result

    def _round(
        self,
        round_no: int,
        proposed: list[Candidate],
        labeled: list[Example],
        real: list[str],
        groups: dict[str, list[str]],
        result: AugmentResult,
    ) -> RoundReport:
        clean = usable(proposed)
        seen = [e.text for e in labeled] + [c.text for c in result.candidates]
        new = dedupe(clean, seen)
        result.candidates.extend(new)
        verdict = self._judge(new, labeled, real, result) if new else _Verdict.empty(len(new))
        counts = Counter(c.label for c in result.accepted)
        passed = [c for c, k in zip(new, verdict.keep, strict=True) if k]
        scores = (
            [float(verdict.scores[i]) for i, k in enumerate(verdict.keep) if k]
            if verdict.scores is not None
            else None
        )
        if scores is None:
            passed = random.Random(self.cfg.seed + round_no).sample(passed, len(passed))
        accepted = cap_per_label(passed, counts, self.cfg.max_per_label, scores)
        result.accepted.extend(accepted)
        update = self._update(accepted, groups, round_no)
        return RoundReport(
            round=round_no,
            proposed=len(proposed),
            usable=len(clean),
            new=len(new),
            passed_discriminator=verdict.passed_d,
            passed_label_check=verdict.passed_label,
            accepted=len(accepted),
            acceptance_rate=len(accepted) / max(len(proposed), 1),
            by_temperature=_by_temperature(proposed, accepted),
            discriminator=verdict.d_report,
            generator_update=update,
            accepted_examples=_examples(accepted, verdict, new, True, self.cfg.examples_in_report),
            rejected_examples=_examples(
                [c for c, k in zip(new, verdict.keep, strict=True) if not k],
                verdict,
                new,
                False,
                self.cfg.examples_in_report,
            ),
            seconds=0.0,  # set by run()
        )

    def _judge(
        self, new: list[Candidate], labeled: list[Example], real: list[str], result: AugmentResult
    ) -> _Verdict:
        """Discriminator scores and label check for the new candidates (nothing when not filtering)."""
        if not self.cfg.filter:
            return _Verdict.empty(len(new))
        x = self.embed([c.text for c in new])
        scores = self.discriminator.fit_score(self.embed(real), x)
        predicted = None
        if self.cfg.check_label:
            train = [*labeled, *result.rows()]
            checker = LabelChecker().fit(self.embed([e.text for e in train]), [str(e.label) for e in train])
            predicted = checker.predict(x)
        keep = select(new, scores, predicted, self.cfg.threshold)
        passed_d = int((scores >= self.cfg.threshold).sum())
        passed_label = sum(p == c.label for p, c in zip(predicted, new, strict=True)) if predicted else None
        d_report = asdict(self.discriminator.last_report) if self.discriminator.last_report else None
        return _Verdict(keep, scores, predicted, passed_d, passed_label, d_report)

    def _update(self, accepted: list[Candidate], groups: dict[str, list[str]], round_no: int) -> dict | None:
        """Fine-tune the generator on this round's accepted samples, except after the last round."""
        if self.updater is None or not accepted or round_no >= self.cfg.rounds:
            return None
        rng = random.Random(self.cfg.seed * 7919 + round_no)
        return self.updater.update(training_pairs(accepted, groups, self.cfg, rng), seed=round_no)


@dataclass
class _Verdict:
    keep: list[bool]
    scores: np.ndarray | None
    predicted: list[str] | None
    passed_d: int | None
    passed_label: int | None
    d_report: dict[str, Any] | None

    @classmethod
    def empty(cls, n: int) -> _Verdict:
        return cls([True] * n, None, None, None, None, None)


def _by_temperature(proposed: list[Candidate], accepted: list[Candidate]) -> dict[str, dict[str, int]]:
    temps = sorted({c.temperature for c in proposed})
    return {
        f"{t:g}": {
            "proposed": sum(c.temperature == t for c in proposed),
            "accepted": sum(c.temperature == t for c in accepted),
        }
        for t in temps
    }


def _examples(
    chosen: list[Candidate], verdict: _Verdict, new: list[Candidate], accepted: bool, n: int
) -> list[dict[str, Any]]:
    """A few samples with their label, score and (for rejects) the label the classifier gave."""
    index = {id(c): i for i, c in enumerate(new)}
    out = []
    for c in chosen[:n]:
        i = index.get(id(c))
        row: dict[str, Any] = {"label": c.label, "text": c.text, "temperature": c.temperature}
        if i is not None and verdict.scores is not None:
            row["p_real"] = round(float(verdict.scores[i]), 3)
        if not accepted and i is not None and verdict.predicted is not None:
            row["classifier_label"] = verdict.predicted[i]
        out.append(row)
    return out
