"""The training objective: supervised loss on good replies plus a KTO-style loss on good and bad ones.

KTO (Ethayarajh et al., 2024) needs no pairs, only single replies marked desirable or not, which
is exactly what /good, /bad and implicit feedback give. With r = log pi(y|x) - log pi_ref(y|x)
(summed over the reply, as in the paper) and z a batch estimate of KL(pi || pi_ref):

    desirable:    1 - sigmoid(beta * (r - z))
    undesirable:  1 - sigmoid(beta * (z - r))

The reference is the model before training; its log-probabilities are computed once up front.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .examples import TokenizedExample


def collate(batch: list[TokenizedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask and a mask over reply tokens (what is scored)."""
    width = max(len(e.prompt) + len(e.reply) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    scored = torch.zeros((len(batch), width), dtype=torch.bool)
    for i, e in enumerate(batch):
        seq = e.prompt + e.reply
        ids[i, : len(seq)] = torch.tensor(seq)
        attention[i, : len(seq)] = 1
        scored[i, len(e.prompt) : len(seq)] = True
    return {"input_ids": ids, "attention_mask": attention, "scored": scored,
            "good": torch.tensor([e.good for e in batch]),
            "weight": torch.tensor([e.weight for e in batch], dtype=torch.float32)}


def reply_logps(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: summed log-probability of the reply tokens, and how many there are."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits = logits[:, :-1].float()  # position t predicts token t + 1
    targets = batch["input_ids"][:, 1:]
    mask = batch["scored"][:, 1:]
    logp = torch.gather(F.log_softmax(logits, dim=-1), 2, targets.unsqueeze(-1)).squeeze(-1)
    return (logp * mask).sum(dim=1), mask.sum(dim=1).clamp(min=1)


def kto_loss(policy: torch.Tensor, reference: torch.Tensor, good: torch.Tensor, weight: torch.Tensor,
             beta: float) -> torch.Tensor:
    """KTO on summed log-ratios; the KL baseline is the batch mean, clamped at 0 and detached."""
    ratio = policy - reference
    z = ratio.mean().clamp(min=0).detach()
    value = torch.where(good, 1 - torch.sigmoid(beta * (ratio - z)), 1 - torch.sigmoid(beta * (z - ratio)))
    return (value * weight).sum() / weight.sum().clamp(min=1e-6)


def sft_loss(policy: torch.Tensor, good: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean per-token negative log-likelihood of the good replies, weighted by their feedback weight."""
    w = weight * good.float()
    return -(policy * w).sum() / w.sum().clamp(min=1e-6)


def batch_loss(model: Any, batch: dict[str, torch.Tensor], reference: torch.Tensor, *, kto_weight: float,
               beta: float) -> tuple[torch.Tensor, dict[str, float]]:
    """SFT on the good replies + kto_weight x KTO on all; returns the loss and its parts."""
    total, count = reply_logps(model, batch)
    per_token = total / count
    sft = sft_loss(per_token, batch["good"], batch["weight"])
    if kto_weight > 0:
        kto = kto_loss(total, reference, batch["good"], batch["weight"], beta)
    else:
        kto = torch.zeros(())
    loss = sft + kto_weight * kto if batch["good"].any() else kto_weight * kto
    return loss, {"loss": loss.item(), "sft": sft.item(), "kto": kto.item()}


@torch.no_grad()
def reference_logps(model: Any, examples: list[TokenizedExample], pad_id: int,
                    batch_size: int) -> torch.Tensor:
    """Summed reply log-probabilities under the model before training (the KTO reference)."""
    from tqdm import tqdm

    model.eval()
    out = []
    for start in tqdm(range(0, len(examples), batch_size), desc="reference log-probs", unit="batch"):
        batch = collate(examples[start : start + batch_size], pad_id)
        total, _ = reply_logps(model, batch)
        out.append(total)
    return torch.cat(out) if out else torch.zeros(0)
