"""The proposer: prompts, cleaning and sampling shape over the temperature sweep."""

from __future__ import annotations

import random
from collections import Counter

from interplay.trainer.augment.proposer import Candidate, Proposer, build_prompt, clean, usable


def test_prompt_lists_real_examples_and_ends_open() -> None:
    examples = ["what is my balance", "how much money do i have", "balance please"]
    prompt = build_prompt("check_balance", examples, random.Random(0), k=2)
    assert '"check balance"' in prompt
    assert sum(e in prompt for e in examples) == 2
    assert prompt.endswith("\n-")


def test_clean_keeps_first_line_without_marks() -> None:
    assert clean(' "How much is in my account?"\nnext line') == "How much is in my account?"
    assert clean("- 2. set an alarm for six") == "set an alarm for six"
    assert clean("  \n") is None
    assert clean("!!") is None
    assert clean("x" * 500) is None


def test_propose_one_candidate_per_label_temperature_and_slot(tiny_lm, small_cfg) -> None:
    model, tokenizer = tiny_lm
    groups = {"greet": ["hello there", "hi you"], "weather": ["is it rain", "sunny today"]}
    out = Proposer(model, tokenizer, small_cfg).propose(groups, round_no=2)
    assert len(out) == 2 * len(small_cfg.temperatures) * small_cfg.per_label
    assert all(isinstance(c, Candidate) and c.round == 2 for c in out)
    per = Counter((c.label, c.temperature) for c in out)
    assert set(per.values()) == {small_cfg.per_label}
    assert {t for _, t in per} == set(small_cfg.temperatures)


def test_chunks_never_mix_temperatures(tiny_lm, small_cfg) -> None:
    model, tokenizer = tiny_lm
    proposer = Proposer(model, tokenizer, small_cfg)
    jobs = proposer.jobs({"a": ["x y"], "b": ["z w"], "c": ["q r"]}, random.Random(0))
    chunks = proposer._chunks(jobs)
    assert sum(len(c) for c in chunks) == len(jobs)
    assert len(jobs) == 3 * len(small_cfg.temperatures)  # one prompt per label and temperature
    assert all(len({t for _, t, _ in c}) == 1 for c in chunks)
    assert all(len(c) * small_cfg.per_label <= small_cfg.batch_size for c in chunks)


def test_shared_prompt_cache_decodes_like_generate(tiny_lm, small_cfg) -> None:
    """Prefilling each prompt once and repeating its cache must not change what the model writes:
    greedy decoding matches plain `generate` on each prompt (left padding, prompts of unequal length)."""
    import torch

    model, tokenizer = tiny_lm
    proposer = Proposer(model, tokenizer, small_cfg)
    prompts = ["greet:\n- hello there\n-", "weather:\n- is it going to rain today at all\n- sunny\n-"]
    shared = proposer._generate(prompts, 1.0, n=2, sample=False)
    expected = []
    for prompt in prompts:
        enc = tokenizer([prompt], return_tensors="pt", return_token_type_ids=False)
        with torch.no_grad():
            ids = model.generate(
                **enc,
                do_sample=False,
                max_new_tokens=small_cfg.max_new_tokens,
                stop_strings=["\n"],
                tokenizer=tokenizer,
                pad_token_id=tokenizer.pad_token_id,
            )
        expected += [tokenizer.decode(ids[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)] * 2
    assert shared == expected
    assert any(text.strip() for text in shared)


def test_usable_drops_empty_text() -> None:
    out = usable([Candidate("- hi there", "greet", 1.0), Candidate("\n\n", "greet", 1.0)])
    assert [c.text for c in out] == ["hi there"]
