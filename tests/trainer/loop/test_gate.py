"""The gate rejects a worse model, passes an equal one, and writes its report next to the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from interplay.trainer.datasets.export import write_jsonl
from interplay.trainer.loop.gate import gate_generator
from interplay.trainer.loop.objective import Weights, kto_loss, sft_loss
from interplay.trainer.loop.simulate import REPERTOIRE, prompts


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    rows = [{"conversation_id": f"g{i}", "reply_id": f"r{i}", "context": [{"role": "user", "content": p}],
             "reply": REPERTOIRE[i % len(REPERTOIRE)], "label": i % len(REPERTOIRE) < 3, "weight": 1.0,
             "score": 1.0, "model_version": None, "kinds": ["explicit"]}
            for i, p in enumerate(prompts(12, seed=9, held_out=True))]
    write_jsonl(tmp_path / "golden.jsonl", rows)
    return tmp_path


def gate(candidate: Path, incumbent: Path, golden: Path) -> object:
    return gate_generator(candidate, incumbent, golden, system_prompt="", precision="fp32",
                          max_perplexity_increase=0.02, max_score_drop=0.0)


def test_an_untrained_model_is_rejected_and_the_report_says_why(
    tiny_root: Path, golden: Path, tmp_path: Path
) -> None:
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource
    from interplay.trainer.lm.tiny import tiny_llama
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_root / "fp32")
    random_model = tiny_llama(tokenizer, seed=5)  # the same shape with random weights: forgot everything
    candidate = build_generator(ModelSource("local", "x", name="random"), tmp_path / "cand",
                                variants=("fp32",), model=random_model, tokenizer=tokenizer)
    report = gate(candidate, tiny_root, golden)
    assert not report.passed and "regressed" in report.reasons[0]
    assert report.candidate["perplexity"] > 2 * report.incumbent["perplexity"]
    saved = json.loads((candidate / "gate.json").read_text())
    assert saved["passed"] is False and (candidate / "gate.md").read_text().startswith("# Gate: FAILED")


def test_the_same_model_passes_the_regression_checks_but_has_learned_nothing(
    tiny_root: Path, golden: Path
) -> None:
    report = gate(tiny_root, tiny_root, golden)
    assert report.passed and report.candidate["good"] == 6 and report.candidate["bad"] == 6
    assert report.candidate["perplexity"] == pytest.approx(report.incumbent["perplexity"])
    strict = gate_generator(tiny_root, tiny_root, golden, system_prompt="", precision="fp32",
                            max_perplexity_increase=0.02, max_score_drop=0.0, min_preference_confidence=0.95)
    assert not strict.passed and "not above chance" in strict.reasons[-1]  # nothing to promote


def test_the_degeneration_check_alone_rejects_a_babbling_model(
    tiny_root: Path, golden: Path, tmp_path: Path
) -> None:
    """With the perplexity and score checks switched off, sampled replies still give it away."""
    from interplay.plugins.onnx_generator.sampling import SamplingParams
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource
    from interplay.trainer.lm.tiny import tiny_llama
    from interplay.trainer.loop.gate import DegenerationCheck
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_root / "fp32")
    babbler = build_generator(ModelSource("local", "x", name="random"), tmp_path / "cand", variants=("fp32",),
                              model=tiny_llama(tokenizer, seed=5), tokenizer=tokenizer)
    check = DegenerationCheck(12, SamplingParams(max_new_tokens=24, seed=7), start=tiny_root, threads=1)
    report = gate_generator(babbler, tiny_root, golden, system_prompt="", precision="fp32",
                            max_perplexity_increase=1e9, max_score_drop=1e9, degeneration=check)
    assert not report.passed
    assert any("beyond tolerance" in r for r in report.reasons), report.reasons
    start, cand = report.degeneration["start"], report.degeneration["candidate"]
    assert cand["nonword_rate"] > start["nonword_rate"] + 0.02 or \
        cand["unfinished"] > start["unfinished"] + 0.2
    assert (tiny_root / "degeneration-start.json").is_file()  # the start's figures are cached
    same = gate_generator(tiny_root, tiny_root, golden, system_prompt="", precision="fp32",
                          max_perplexity_increase=0.02, max_score_drop=0.0, degeneration=check)
    assert same.passed, same.reasons
    assert same.degeneration["candidate"] == same.degeneration["start"]  # same seeds, same replies


def test_kto_pushes_good_replies_up_and_bad_ones_down() -> None:
    policy = torch.zeros(4, requires_grad=True)
    good = torch.tensor([True, True, False, False])
    loss = kto_loss(policy, torch.zeros(4), torch.zeros(4), good, torch.ones(4), 0.5, Weights())
    loss.backward()
    assert (policy.grad[:2] < 0).all() and (policy.grad[2:] > 0).all()  # descent raises good, lowers bad
    sft = sft_loss(torch.tensor([-1.0, -3.0, -0.1, -0.1]), good, torch.tensor([1.0, 1.0, 1.0, 1.0]))
    assert sft.item() == pytest.approx(2.0)  # only the good replies count


def test_batched_reply_scoring_gives_the_same_figures_as_one_at_a_time(tiny_root: Path) -> None:
    import random

    from interplay.plugins.onnx_generator import DecoderSession
    from interplay.trainer.lm.perplexity import ReplyExample, reply_nll, reply_nlls

    session = DecoderSession(tiny_root / "fp32" / "model.onnx")
    rng = random.Random(0)
    examples = [ReplyExample([rng.randrange(4, 40) for _ in range(rng.randrange(2, 12))],
                             [rng.randrange(4, 40) for _ in range(rng.randrange(1, 9))]) for _ in range(11)]
    one_by_one = [reply_nll(session, e) for e in examples]
    batched = reply_nlls(session, examples, batch=4)  # ragged lengths, a last batch of 3
    assert [n for _, n in batched] == [n for _, n in one_by_one]
    assert [t for t, _ in batched] == pytest.approx([t for t, _ in one_by_one], rel=1e-4, abs=1e-4)


def test_a_models_golden_scores_are_cached_under_its_files_and_the_exact_examples(
    tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interplay.trainer.loop import gate as gate_module
    from interplay.trainer.loop.examples import TokenizedExample

    examples = [TokenizedExample([5, 6, 7], [8, 9], True, 1.0), TokenizedExample([5, 7], [9, 8], False, 1.0)]
    first = gate_module.cached_score(tiny_root / "fp32", examples, "m", tmp_path)
    calls = []
    real = gate_module.score_model
    monkeypatch.setattr(gate_module, "score_model", lambda *a: calls.append(a) or real(*a))
    assert gate_module.cached_score(tiny_root / "fp32", examples, "m", tmp_path) == first
    assert calls == []  # the same model and examples: from the cache
    changed = [examples[0], TokenizedExample([5, 7], [9, 10], False, 1.0)]
    second = gate_module.cached_score(tiny_root / "fp32", changed, "m", tmp_path)
    assert len(calls) == 1 and second[1][0] == pytest.approx(first[1][0]) and second[1][1] != first[1][1]
    assert "hello" not in "".join(p.read_text() for p in tmp_path.glob("*.json"))  # numbers only
