"""The rounds: what gets accepted and rejected, the reports, and generator updates inside a round."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import torch
from interplay.trainer.augment.proposer import Candidate, Proposer
from interplay.trainer.augment.rounds import Augmenter, label_groups
from interplay.trainer.classifier.tiny import FILLER, TOY_INTENTS, toy_examples


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A stand-in sentence encoder: hashed word counts, unit length (meaningful and instant)."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-6)


class ScriptedProposer:
    """Proposes, per label, texts like the real ones, gibberish and a text of another label."""

    model = tokenizer = None

    def __init__(self) -> None:
        self.calls: list[set[str]] = []

    def propose(self, groups: dict[str, list[str]], round_no: int = 1) -> list[Candidate]:
        self.calls.append(set(groups))
        out = []
        for i, label in enumerate(groups):
            w = TOY_INTENTS[label]
            other = TOY_INTENTS["weather" if label != "weather" else "greet"]
            f = FILLER[(round_no + i) % 8 :]
            out += [
                Candidate(f"{w[round_no % 5]} {f[0]} {w[(round_no + 1) % 5]} {f[1]}", label, 1.0, round_no),
                Candidate(
                    f"{f[2]} {w[(round_no + 2) % 5]} {w[(round_no + 3) % 5]} {f[1]}", label, 0.7, round_no
                ),
                Candidate(f"xq zzv plk wrr {label} {round_no}", label, 1.3, round_no),
                Candidate(f"{other[i]} {f[0]} {other[i + 1]} {f[2]}", label, 1.3, round_no),
            ]
        return out


def test_accepts_on_topic_rejects_gibberish_and_wrong_label(labeled, small_cfg) -> None:
    proposer = ScriptedProposer()
    real_pool = [text for text, _ in toy_examples(30, seed=9)]
    cfg = replace(small_cfg, rounds=1, max_per_label=10)
    result = Augmenter(proposer, bag_of_words, cfg).run(labeled, real_pool)
    texts = {c.text for c in result.accepted}
    assert not any("zzv" in t for t in texts)
    assert all(set(c.text.split()) & set(TOY_INTENTS[c.label]) for c in result.accepted)
    assert len(result.accepted) >= 3  # of the 6 on-topic samples
    assert {c.label for c in result.accepted} <= {"greet", "weather", "goodbye"}  # oos is skipped
    report = result.rounds[0]
    assert report.proposed == 3 * 4 and report.accepted == len(result.accepted)
    assert report.passed_discriminator is not None and report.passed_discriminator < report.new
    assert report.acceptance_rate == report.accepted / report.proposed
    assert report.rejected_examples and "p_real" in report.rejected_examples[0]


def test_unfiltered_keeps_new_samples_and_stops_when_labels_are_full(labeled, small_cfg) -> None:
    proposer = ScriptedProposer()
    cfg = replace(small_cfg, rounds=3, filter=False, max_per_label=4)
    result = Augmenter(proposer, bag_of_words, cfg).run(labeled)
    assert result.rounds[0].passed_discriminator is None
    assert all(n == 4 for n in result.per_label().values())  # 3-4 new per round, cap 4 reached by round 2
    assert len(proposer.calls) == len(result.rounds) < 3  # no proposals once every label is full


def test_dedupes_against_training_rows(labeled, small_cfg) -> None:
    row = next(e for e in labeled if e.label != "oos")

    class Repeats(ScriptedProposer):
        def propose(self, groups, round_no=1):
            return [Candidate(row.text.upper() + "!", str(row.label), 1.0, round_no)]

    cfg = replace(small_cfg, rounds=1, filter=False)
    result = Augmenter(Repeats(), bag_of_words, cfg).run(labeled)
    assert result.rounds[0].usable == 1 and result.rounds[0].new == 0 and not result.accepted


def test_tiny_lm_rounds_with_generator_updates_change_weights(tiny_lm, encoder, labeled, small_cfg) -> None:
    model, tokenizer = tiny_lm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = replace(small_cfg, rounds=2, filter=False, generator_updates=True)
    result = Augmenter(Proposer(model, tokenizer, cfg), encoder, cfg).run(labeled)
    n_labels = len(label_groups(labeled, cfg))
    assert result.rounds[0].proposed == n_labels * len(cfg.temperatures) * cfg.per_label
    update = result.rounds[0].generator_update
    assert update is not None and update["steps"] == cfg.generator_steps
    assert result.rounds[-1].generator_update is None  # nothing to update after the last round
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed
