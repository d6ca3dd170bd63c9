"""Generator updates: completion-only loss, weights change, the loss on accepted samples drops."""

from __future__ import annotations

import torch
from interplay.trainer.augment.generator_update import GeneratorUpdater


def test_encode_masks_the_prompt(tiny_lm, small_cfg) -> None:
    model, tokenizer = tiny_lm
    updater = GeneratorUpdater(model, tokenizer, small_cfg)
    prompt, completion = "Things people say:\n- ", "hello there\n"
    ids, mask, labels = updater.encode([(prompt, completion), ("x", "a much longer answer here\n")])
    n_prompt = len(tokenizer(prompt)["input_ids"])
    n_completion = len(tokenizer(completion, add_special_tokens=False)["input_ids"])
    assert (labels[0, :n_prompt] == -100).all()
    assert (labels[0] != -100).sum() == n_completion
    assert mask[0].sum() == n_prompt + n_completion and ids.shape == labels.shape


def test_steps_change_weights_and_lower_the_loss(tiny_lm, small_cfg) -> None:
    model, tokenizer = tiny_lm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    updater = GeneratorUpdater(model, tokenizer, small_cfg)
    pairs = [("Things people say:\n- ", "hello there\n"), ("Things people say:\n- ", "is it rain\n")]
    losses = [updater.step(pairs) for _ in range(8)]
    assert losses[-1] < losses[0]
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_update_without_pairs_is_a_no_op(tiny_lm, small_cfg) -> None:
    model, tokenizer = tiny_lm
    assert GeneratorUpdater(model, tokenizer, small_cfg).update([]) == {"steps": 0, "losses": []}
