"""Generator updates between rounds: a few steps of fine-tuning on accepted samples.

This is rejection-sampling adversarial training: the discriminator and the label check decide which
samples survive, and the generator is pushed (maximum likelihood, completion tokens only) towards
them, so the next round proposes more samples of the kind that passed.
"""

from __future__ import annotations

import random
from typing import Any

from tqdm.auto import tqdm

from .config import AugmentConfig
from .proposer import Candidate, build_prompt


def training_pairs(
    accepted: list[Candidate], groups: dict[str, list[str]], cfg: AugmentConfig, rng: random.Random
) -> list[tuple[str, str]]:
    """(prompt, completion): the prompt the proposer would use, the accepted text as its answer."""
    return [
        (build_prompt(c.label, groups[c.label], rng, cfg.prompt_examples), " " + c.text + "\n")
        for c in accepted
        if c.label in groups
    ]


class GeneratorUpdater:
    """Keeps one AdamW optimizer for the generator across rounds."""

    def __init__(self, model: Any, tokenizer: Any, cfg: AugmentConfig) -> None:
        import torch

        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.generator_lr, weight_decay=0.0)

    def update(self, pairs: list[tuple[str, str]], seed: int = 0) -> dict[str, Any]:
        """`generator_steps` steps on random batches of pairs; returns the losses seen."""
        if not pairs:
            return {"steps": 0, "losses": []}
        rng = random.Random(seed)
        losses = []
        self.model.train()
        for _ in tqdm(
            range(self.cfg.generator_steps), desc="generator update", disable=not self.cfg.progress
        ):
            batch = rng.sample(pairs, min(self.cfg.generator_batch_size, len(pairs)))
            losses.append(self.step(batch))
        self.model.eval()
        return {"steps": len(losses), "losses": losses}

    def step(self, pairs: list[tuple[str, str]]) -> float:
        """One optimizer step of completion-only language-model loss."""
        import torch

        ids, mask, labels = self.encode(pairs)
        out = self.model(input_ids=ids, attention_mask=mask, labels=labels)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        return float(out.loss.detach())

    def encode(self, pairs: list[tuple[str, str]]) -> tuple[Any, Any, Any]:
        """Right-padded ids, mask and labels (-100 on prompt and padding: only the answer is learned)."""
        import torch

        rows = []
        for prompt, completion in pairs:
            p = self.tokenizer(prompt)["input_ids"]
            c = self.tokenizer(completion, add_special_tokens=False)["input_ids"]
            rows.append((p + c, [-100] * len(p) + c))
        width = max(len(r[0]) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, (seq, lab) in enumerate(rows):
            ids[i, : len(seq)] = torch.tensor(seq)
            mask[i, : len(seq)] = 1
            labels[i, : len(lab)] = torch.tensor(lab)
        device = self.model.device
        return ids.to(device), mask.to(device), labels.to(device)
