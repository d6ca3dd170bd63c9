"""KTO as the paper and TRL's KTOTrainer define it: weights, the mismatched-pair reference point."""

from __future__ import annotations

import pytest
import torch
from interplay.trainer.loop.examples import TokenizedExample
from interplay.trainer.loop.objective import (
    BALANCE,
    Weights,
    class_weights,
    collate,
    kto_loss,
    mismatched,
    reply_logps,
)


def test_class_weights_balance_unbalanced_feedback_as_the_paper_recommends() -> None:
    w = class_weights(71, 429)
    assert w.undesirable == 1.0
    assert w.desirable * 71 / (w.undesirable * 429) == pytest.approx(BALANCE)
    assert 1.0 <= BALANCE <= 4 / 3
    many_good = class_weights(400, 100)
    assert many_good.desirable == 1.0
    assert many_good.desirable * 400 / (many_good.undesirable * 100) == pytest.approx(BALANCE)
    assert class_weights(0, 10) == Weights()


def example(prompt: list[int], reply: list[int], good: bool = True) -> TokenizedExample:
    return TokenizedExample(prompt, reply, good, 1.0)


def test_mismatched_pairs_give_each_prompt_another_examples_reply() -> None:
    batch = [example([1], [10]), example([2], [20]), example([3], [30])]
    assert mismatched(batch) == [[30], [10], [20]]
    assert mismatched(batch[:1]) == [[10]]
    kl = collate(batch, 0, mismatched(batch))
    assert kl["input_ids"][0].tolist() == [1, 30] and kl["scored"][0].tolist() == [False, True]


def test_the_reference_point_moves_the_loss() -> None:
    """z0 (the KL estimate) is a baseline: a larger one makes good replies need a larger ratio."""
    policy, reference, good = torch.ones(2), torch.zeros(2), torch.tensor([True, True])
    low = kto_loss(policy, reference, torch.zeros(2), good, torch.ones(2), 1.0, Weights())
    high = kto_loss(policy, reference, torch.full((2,), 3.0), good, torch.ones(2), 1.0, Weights())
    assert high.item() > low.item()
    negative = kto_loss(policy, reference, torch.full((2,), -3.0), good, torch.ones(2), 1.0, Weights())
    assert negative.item() == pytest.approx(low.item())  # z0 is clamped at 0
    bad = torch.tensor([False, False])
    assert kto_loss(policy, reference, torch.full((2,), 3.0), bad, torch.ones(2), 1.0, Weights()).item() < \
        kto_loss(policy, reference, torch.zeros(2), bad, torch.ones(2), 1.0, Weights()).item()


def test_reply_log_probs_match_the_full_logits_computation() -> None:
    """Only reply positions go through the LM head; the result equals the plain way of doing it."""
    from interplay.trainer.lm.tiny import tiny_llama
    from interplay.trainer.loop.simulate import _tiny_tokenizer

    tokenizer = _tiny_tokenizer(["hello there", "how are you"])
    model = tiny_llama(tokenizer, seed=1).eval()
    batch = collate([example([5, 6, 7], [8, 9]), example([5, 6], [7, 8, 9, 10])], 0)
    total, count = reply_logps(model, batch)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logp = torch.log_softmax(logits[:, :-1].float(), -1)
        logp = logp.gather(2, batch["input_ids"][:, 1:, None])[..., 0]
        expected = (logp * batch["scored"][:, 1:]).sum(1)
    assert count.tolist() == [2, 4]
    assert torch.allclose(total.detach(), expected, atol=1e-5)


def test_the_preference_test_tells_a_learned_preference_from_noise() -> None:
    import random

    from interplay.trainer.loop.gate import preference_test

    rng = random.Random(0)
    good = [i % 3 == 0 for i in range(60)]
    incumbent = [rng.gauss(-2, 0.3) for _ in good]
    learned = [v + (0.3 if g else -0.05) + rng.gauss(0, 0.05) for v, g in zip(incumbent, good, strict=True)]
    gain, p = preference_test(learned, incumbent, good)
    assert gain > 0.3 and p < 0.01
    noise = [v + rng.gauss(0, 0.1) for v in incumbent]  # changed, but not towards what people liked
    assert preference_test(noise, incumbent, good)[1] > 0.05
    assert preference_test(incumbent, incumbent, good) == (0.0, 1.0)  # unchanged: p = 1


def test_token_kl_is_zero_for_the_same_distribution_and_matches_torch() -> None:
    from interplay.trainer.loop.objective import token_kl

    torch.manual_seed(0)
    p = torch.log_softmax(torch.randn(5, 11), -1)
    q = torch.log_softmax(torch.randn(5, 11), -1)
    assert token_kl(p, p, 2).item() == pytest.approx(0.0, abs=1e-6)
    # KL(start || policy) summed over positions, per reply: torch's kl_div(input=policy, target=start)
    expected = torch.nn.functional.kl_div(p, q, log_target=True, reduction="sum") / 2
    assert token_kl(p, q, 2).item() == pytest.approx(expected.item(), rel=1e-5)
    assert token_kl(p, q, 2).item() > 0


def _tiny_training(kl_weight: float, steps: int = 30) -> tuple[float, float]:
    """Train a tiny model on a few 'good' replies; return (KL from the start on other replies,
    NLL of the trained replies). The KL is measured where nothing rewarded a change."""
    from interplay.trainer.lm.tiny import tiny_llama
    from interplay.trainer.loop.objective import batch_loss, reference_logps, reply_distributions, token_kl
    from interplay.trainer.loop.simulate import _tiny_tokenizer
    from interplay.trainer.loop.train import with_lora

    tokenizer = _tiny_tokenizer(["hello there", "how are you"])
    torch.manual_seed(0)
    model = with_lora(tiny_llama(tokenizer, seed=1), 8)
    good = [example([5, 6, 7], [8, 9, 10, 11]), example([5, 7], [8, 9, 10, 12])]
    other = collate([example([6, 5], [13, 14, 15, 16]), example([7, 7, 6], [16, 15, 14])], 0)
    with torch.no_grad():
        start = reply_distributions(model, other)[0]
    ref = reference_logps(model, [good], 0)[0]
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    for _ in range(steps):
        loss, _ = batch_loss(model, good, 0, ref, kto_weight=0.0, beta=0.1, weights=Weights(),
                             kl_weight=kl_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        drift = token_kl(reply_distributions(model, other)[0], start, 2).item()
        total, count = reply_logps(model, collate(good, 0))
    return drift, float(-(total / count).mean())


def test_the_kl_anchor_starts_at_zero_from_the_reference_pass() -> None:
    from interplay.trainer.lm.tiny import tiny_llama
    from interplay.trainer.loop.objective import batch_loss, reference_logps
    from interplay.trainer.loop.simulate import _tiny_tokenizer
    from interplay.trainer.loop.train import with_lora

    tokenizer = _tiny_tokenizer(["hello there", "how are you"])
    model = with_lora(tiny_llama(tokenizer, seed=1), 8)
    batch = [example([5, 6, 7], [8, 9, 10, 11], good=True), example([5, 7], [8, 12], good=False)]
    reference = reference_logps(model, [batch], 0)[0]
    assert reference.start is not None
    _, parts = batch_loss(model, batch, 0, reference, kto_weight=0.0, beta=0.1, weights=Weights(),
                          kl_weight=1.0)
    assert parts["kl"] == pytest.approx(0.0, abs=1e-5)  # LoRA starts as the identity
    assert reference_logps(model, [batch], 0, anchor=False)[0].start is None


def test_the_sparse_anchor_is_the_full_kl_when_k_covers_the_vocabulary_and_a_close_lower_bound_else() -> None:
    from interplay.trainer.loop.objective import sparse_kl, token_kl, top_k

    torch.manual_seed(0)
    start = torch.log_softmax(3 * torch.randn(6, 500), -1)  # peaked, like a language model's
    policy = torch.log_softmax(torch.log_softmax(3 * torch.randn(6, 500), -1) * 0.3 + start, -1)
    full = token_kl(policy, start, 3).item()
    assert sparse_kl(policy, top_k(start, 500), 3).item() == pytest.approx(full, rel=1e-4)
    sparse = sparse_kl(policy, top_k(start, 64), 3).item()
    assert 0.8 * full < sparse <= full + 1e-6
    assert sparse_kl(start, top_k(start, 64), 3).item() == pytest.approx(0.0, abs=1e-5)
    # the gradient reaches the policy through the kept tokens and the bucket of the rest
    policy = policy.clone().requires_grad_(True)
    sparse_kl(policy, top_k(start, 64), 3).backward()
    assert policy.grad is not None and policy.grad.abs().sum() > 0


def test_the_kl_anchor_holds_back_drift_while_the_liked_replies_are_still_learned() -> None:
    """Without the anchor, fitting a few liked replies moves the model everywhere else too."""
    free_drift, free_nll = _tiny_training(kl_weight=0.0)
    held_drift, held_nll = _tiny_training(kl_weight=1.0)
    _, untrained_nll = _tiny_training(kl_weight=0.0, steps=0)
    assert held_drift < 0.5 * free_drift
    assert held_nll < 0.7 * untrained_nll  # the liked replies were still learned
    assert free_nll <= held_nll


def test_min_steps_adds_whole_epochs_for_small_rounds_and_max_steps_still_caps() -> None:
    from interplay.trainer.loop.train import MAX_EPOCHS, TrainOptions, planned_steps

    assert planned_steps(25, TrainOptions()) == 25  # off by default: one epoch
    assert planned_steps(25, TrainOptions(min_steps=48)) == 50  # 200 ratings: two whole passes
    assert planned_steps(63, TrainOptions(min_steps=48)) == 63  # 500 ratings: one pass is enough
    assert planned_steps(2, TrainOptions(min_steps=48)) == 2 * MAX_EPOCHS  # never more than 4 passes
    assert planned_steps(25, TrainOptions(min_steps=48, max_steps=30)) == 30
    assert planned_steps(25, TrainOptions(epochs=3, min_steps=48)) == 75  # epochs is a floor


def test_lora_adapters_go_on_the_top_share_of_the_layers() -> None:
    from interplay.trainer.lm.tiny import tiny_llama
    from interplay.trainer.loop.simulate import _tiny_tokenizer
    from interplay.trainer.loop.train import with_lora

    tokenizer = _tiny_tokenizer(["hello there"])
    base = tiny_llama(tokenizer, seed=1)
    count = base.config.num_hidden_layers

    def adapted(layers: float) -> set[int]:
        model = with_lora(tiny_llama(tokenizer, seed=1), 4, layers)
        names = [n for n, _ in model.named_parameters() if "lora_A" in n]
        return {int(n.split(".layers.")[1].split(".")[0]) for n in names}

    assert adapted(1.0) == set(range(count))
    assert adapted(0.5) == set(range(count - max(1, round(count / 2)), count))
    assert max(adapted(0.01)) == count - 1 and len(adapted(0.01)) == 1


def test_the_kl_estimate_pairs_a_few_prompts_spread_over_the_batch() -> None:
    """z0 comes from KL_PAIRS mismatched pairs per batch, not all of them (the docstring says why)."""
    from interplay.trainer.loop.objective import KL_PAIRS, kl_pairs

    batch = [example([i], [10 * i]) for i in range(1, 9)]
    pairs = kl_pairs(batch, 0)
    assert KL_PAIRS == 2 and pairs["input_ids"].tolist() == [[1, 80], [5, 40]]
    assert kl_pairs(batch[:1], 0)["input_ids"].tolist() == [[1, 10]]
