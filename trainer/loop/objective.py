"""The training objective: KTO on good and bad replies, plus supervised loss on the good ones.

KTO (Ethayarajh et al., 2024, "KTO: Model Alignment as Prospect Theoretic Optimization") needs
no pairs, only single replies marked desirable or not, which is what /good, /bad and implicit
feedback give. As in the paper and TRL's `KTOTrainer`:

- r = log pi(y|x) - log pi_ref(y|x), summed over the reply tokens;
- z0, the reference point, estimates KL(pi || pi_ref) on *mismatched* pairs: each prompt of the
  batch with another example's reply (the batch rotated by one), clamped at 0 and detached.
  One difference from TRL, for speed: only `KL_PAIRS` of each batch's prompts get a mismatched
  pair (TRL pairs all of them). z0 is a detached scalar baseline inside a sigmoid, so a noisier
  estimate only shifts where the sigmoid bends; the full pairing cost a forward pass of the whole
  batch at every step and another in the reference pass (the saving was not timed on its own);
- desirable:   w_D * (1 - sigmoid(beta * (r - z0)))
  undesirable: w_U * (1 - sigmoid(beta * (z0 - r)))
- the weights balance unbalanced feedback: the paper (and TRL's docs) recommend
  w_D * n_D / (w_U * n_U) in [1, 4/3]; `class_weights` picks 1.15 from the counts, so 71 good
  against 429 bad gives w_D = 6.9, w_U = 1.

The reference is the model training starts from (the one served now); its log-probabilities,
matched and mismatched, are computed once before the first step. The supervised part (mean
per-token NLL of good replies) is what moves a small model quickly; KTO adds the disliked
replies. A third part, `token_kl`, holds every reply token's next-token distribution near the
starting model's (KL(start || policy), summed per reply): KTO's summed log-ratio moves every
token of a rated reply where the rule cared about a few, and on SmolLM2 that drift is what raised
golden perplexity. Only reply positions go
through the LM head: on a 49k-token
vocabulary it is a fifth of the model's compute, and prompts are half of each sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .examples import TokenizedExample

BALANCE = 1.15  # w_D n_D / (w_U n_U); inside the paper's recommended [1, 4/3]


@dataclass(frozen=True)
class Weights:
    """KTO's desirable and undesirable weights."""

    desirable: float = 1.0
    undesirable: float = 1.0


def class_weights(good: int, bad: int) -> Weights:
    """Weights so that the desirable side carries BALANCE times the undesirable side's total."""
    if good == 0 or bad == 0:
        return Weights()
    ratio = BALANCE * bad / good  # w_D / w_U
    return Weights(desirable=ratio, undesirable=1.0) if ratio >= 1 else Weights(1.0, 1 / ratio)


def collate(batch: list[TokenizedExample], pad_id: int, replies: list[list[int]] | None = None
            ) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask and a mask over reply tokens (what is scored).

    `replies` replaces each example's reply (the mismatched pairs of the KL estimate).
    """
    replies = replies if replies is not None else [e.reply for e in batch]
    seqs = [e.prompt + r for e, r in zip(batch, replies, strict=True)]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    scored = torch.zeros((len(batch), width), dtype=torch.bool)
    for i, (e, seq) in enumerate(zip(batch, seqs, strict=True)):
        ids[i, : len(seq)] = torch.tensor(seq)
        attention[i, : len(seq)] = 1
        scored[i, len(e.prompt) : len(seq)] = True
    return {"input_ids": ids, "attention_mask": attention, "scored": scored,
            "good": torch.tensor([e.good for e in batch]),
            "weight": torch.tensor([e.weight for e in batch], dtype=torch.float32)}


def mismatched(batch: list[TokenizedExample]) -> list[list[int]]:
    """Each prompt paired with the next example's reply, as TRL builds its KL dataset."""
    return [batch[i - 1].reply for i in range(len(batch))] if len(batch) > 1 else [batch[0].reply]


KL_PAIRS = 2  # prompts per batch whose mismatched pair estimates z0 (the module docstring says why)


def kl_pairs(batch: list[TokenizedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """The z0 estimate's input: `KL_PAIRS` prompts spread over the batch (its rows are sorted by
    length), each with the previous example's reply."""
    picked = sorted({i * len(batch) // KL_PAIRS for i in range(KL_PAIRS)})
    replies = mismatched(batch)
    return collate([batch[i] for i in picked], pad_id, [replies[i] for i in picked])


def reply_distributions(model: Any, batch: dict[str, torch.Tensor]
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-softmax over the vocabulary at every reply position [positions, vocab], each
    position's example index, and the token that came next (what the position predicts)."""
    device = next(model.parameters()).device
    ids = batch["input_ids"].to(device)
    hidden = model.get_decoder()(input_ids=ids, attention_mask=batch["attention_mask"].to(device))[0]
    scored = batch["scored"][:, 1:].to(device)  # position t predicts token t + 1
    rows, cols = scored.nonzero(as_tuple=True)
    logits = model.get_output_embeddings()(hidden[rows, cols]).float()
    return F.log_softmax(logits, dim=-1), rows, ids[rows, cols + 1]


def reply_logps(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: summed log-probability of the reply tokens, and how many there are."""
    return _summed(*reply_distributions(model, batch), batch)


def _summed(logp: torch.Tensor, rows: torch.Tensor, targets: torch.Tensor, batch: dict[str, torch.Tensor]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    picked = torch.gather(logp, 1, targets.unsqueeze(-1)).squeeze(-1)
    count = batch["scored"][:, 1:].sum(dim=1).clamp(min=1)
    total = torch.zeros(len(count), device=picked.device, dtype=picked.dtype).index_add(0, rows, picked)
    return total.cpu(), count


def token_kl(policy: torch.Tensor, start: torch.Tensor, replies: int) -> torch.Tensor:
    """KL(start || policy) at each reply position, summed over each reply, averaged over the replies.

    Both are log-softmax rows [positions, vocab] over the `replies` replies of a batch.
    The anchor that keeps the model near the one it started from on *every* reply token: KTO sees
    only each reply's summed log-ratio, so it pushes a disliked reply's every token down (and a
    liked one's up) where the rule cared about a few; on SmolLM2 that drift is what raised golden
    perplexity. This direction is the one the gate measures: the rise in the negative
    log-likelihood of what the starting model says (its own samples) is KL(start || policy). Summed
    per reply, it has the scale of KTO's summed log-ratios, so `kl_weight = 1` weighs them alike.
    """
    if policy.numel() == 0:
        return policy.sum()
    per_position = (start.exp() * (start - policy)).sum(-1)
    return per_position.sum() / max(replies, 1)


ANCHOR_TOP_K = 64  # the starting model's most likely next tokens kept per reply position


@dataclass(frozen=True)
class TopK:
    """The starting model's next-token distribution at each reply position, kept sparse: the log-
    probabilities of its `k` most likely tokens, and the log of the probability left for all others.

    Kept from the reference pass, so the KL anchor needs no forward pass of the starting model
    during training (a 135M model's forward is a fifth of a step's compute); 64 x (8 + 4) bytes
    per position instead of the 49k-float row.
    """

    index: torch.Tensor  # [positions, k]
    logp: torch.Tensor  # [positions, k]
    rest: torch.Tensor  # [positions]


def top_k(logp: torch.Tensor, k: int = ANCHOR_TOP_K) -> TopK:
    values, index = logp.topk(min(k, logp.shape[-1]), dim=-1)
    return TopK(index, values, _rest(values))


def _rest(values: torch.Tensor) -> torch.Tensor:
    """log(1 - sum(exp(values))): the log-probability of every token not among `values`."""
    return torch.log((1 - values.exp().sum(-1)).clamp(min=1e-7))


def sparse_kl(policy: torch.Tensor, start: TopK, replies: int) -> torch.Tensor:
    """`token_kl` against a `TopK` start: KL(start || policy) over the start's top-k tokens plus one
    bucket holding every other token, summed per reply and averaged over the replies.

    This is the exact KL of the two distributions coarsened to k + 1 outcomes, so it never exceeds
    the full KL and equals it as k covers the mass (the test compares them); the anchor's job, to
    hold what the start found likely where it was, is what the top-k carries.
    """
    if policy.numel() == 0:
        return policy.sum()
    picked = policy.gather(1, start.index.to(policy.device))
    start_logp, start_rest = start.logp.to(policy.device), start.rest.to(policy.device)
    top = (start_logp.exp() * (start_logp - picked)).sum(-1)
    rest = start_rest.exp() * (start_rest - _rest(picked))
    return (top + rest).sum() / max(replies, 1)


def kto_loss(policy: torch.Tensor, reference: torch.Tensor, kl: torch.Tensor, good: torch.Tensor,
             weight: torch.Tensor, beta: float, weights: Weights) -> torch.Tensor:
    """KTO on summed log-ratios, with z0 = the mismatched-pair KL estimate (a detached scalar)."""
    ratio = policy - reference
    z0 = kl.mean().clamp(min=0).detach()
    desirable = weights.desirable * (1 - torch.sigmoid(beta * (ratio - z0)))
    undesirable = weights.undesirable * (1 - torch.sigmoid(beta * (z0 - ratio)))
    value = torch.where(good, desirable, undesirable)
    return (value * weight).sum() / weight.sum().clamp(min=1e-6)


def sft_loss(per_token: torch.Tensor, good: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean per-token negative log-likelihood of the good replies, weighted by their feedback weight."""
    w = weight * good.float()
    return -(per_token * w).sum() / w.sum().clamp(min=1e-6)


@dataclass(frozen=True)
class Reference:
    """The starting model on one batch: summed reply log-probabilities of the matched and the
    mismatched pairs (KTO), and its sparse next-token distributions (the KL anchor)."""

    matched: torch.Tensor
    mismatched: torch.Tensor
    start: TopK | None = None


def batch_loss(model: Any, examples: list[TokenizedExample], pad_id: int, reference: Reference, *,
               kto_weight: float, beta: float, weights: Weights, kl_weight: float = 0.0
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """SFT on the good replies + kto_weight x KTO on all + kl_weight x token KL to the start;
    returns the loss and its parts.

    `reference` holds this batch's rows, built with the same `mismatched` pairing, and the
    starting model's top-k distributions at the same reply positions (`reference_logps`).
    """
    batch = collate(examples, pad_id)
    logp, rows, targets = reply_distributions(model, batch)
    total, count = _summed(logp, rows, targets, batch)
    sft = sft_loss(total / count, batch["good"], batch["weight"])
    kto = torch.zeros(())
    if kto_weight > 0:
        with torch.no_grad():  # as in TRL: the KL estimate is a baseline, not a gradient path
            kl_policy, _ = reply_logps(model, kl_pairs(examples, pad_id))
        kto = kto_loss(total, reference.matched, kl_policy - reference.mismatched, batch["good"],
                       batch["weight"], beta, weights)
    kl = torch.zeros(())
    if kl_weight > 0 and reference.start is not None:
        kl = sparse_kl(logp, reference.start, len(examples)).cpu()
    loss = (sft if batch["good"].any() else 0.0) + kto_weight * kto + kl_weight * kl
    return loss, {"loss": loss.item(), "sft": sft.item(), "kto": kto.item(), "kl": kl.item()}


@torch.no_grad()
def reference_logps(model: Any, batches: list[list[TokenizedExample]], pad_id: int,
                    anchor: bool = True) -> list[Reference]:
    """Per batch: the model's reply log-probabilities before training (the KTO reference) and,
    with `anchor`, its top-k next-token distributions at the reply positions (the KL anchor)."""
    from tqdm import tqdm

    model.eval()
    out = []
    for batch in tqdm(batches, desc="reference log-probs", unit="batch"):
        collated = collate(batch, pad_id)
        logp, rows, targets = reply_distributions(model, collated)
        matched, _ = _summed(logp, rows, targets, collated)
        other, _ = reply_logps(model, kl_pairs(batch, pad_id))
        out.append(Reference(matched, other, top_k(logp) if anchor else None))
    return out
