"""The proposer: a causal LM continues a list of a label's real examples, over a temperature sweep."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from .config import AugmentConfig

MAX_CHARS = 200


@dataclass(frozen=True)
class Candidate:
    """One generated utterance, the label it was written for and how it was sampled."""

    text: str
    label: str
    temperature: float
    round: int = 1


def label_words(label: str) -> str:
    """CLINC-style labels (`change_speed`) read better as words in a prompt."""
    return label.replace("_", " ").strip()


def build_prompt(label: str, examples: list[str], rng: random.Random, k: int) -> str:
    """A list the model is asked to continue; a plain list, not a chat turn, because the small
    instruct model answers chat requests with commentary ("Here is a new request: ...")."""
    shown = rng.sample(examples, min(k, len(examples)))
    lines = "\n".join(f"- {text}" for text in shown)
    # ends in "-", not "- ": BPE vocabularies put the space in front of the next word (" what")
    return f'Things people say to a voice assistant when they mean "{label_words(label)}":\n{lines}\n-'


_LEAD = re.compile(r"^[\s\-*•\d.)]+")


def clean(text: str) -> str | None:
    """The first line without list marks or quotes; None when nothing usable is left."""
    line = text.strip().split("\n", 1)[0]
    line = _LEAD.sub("", line).strip().strip("\"'`“”").strip()
    if len(line) < 3 or len(line) > MAX_CHARS or not any(c.isalpha() for c in line):
        return None
    return line


class Proposer:
    """Samples candidate utterances for labels from a causal LM (PyTorch `generate`)."""

    def __init__(self, model: Any, tokenizer: Any, cfg: AugmentConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        tokenizer.padding_side = "left"  # generation appends on the right
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    def jobs(self, groups: dict[str, list[str]], rng: random.Random) -> list[tuple[str, float, str]]:
        """(label, temperature, prompt) for every sequence of one round, grouped by temperature."""
        return [
            (label, t, build_prompt(label, texts, rng, self.cfg.prompt_examples))
            for t in self.cfg.temperatures
            for label, texts in groups.items()
            for _ in range(self.cfg.per_label)
        ]

    def propose(self, groups: dict[str, list[str]], round_no: int = 1) -> list[Candidate]:
        """Candidates for each label in `groups` (label -> real example texts), all temperatures."""
        import torch

        rng = random.Random(self.cfg.seed * 1000 + round_no)
        torch.manual_seed(self.cfg.seed * 1000 + round_no)
        jobs = self.jobs(groups, rng)
        out: list[Candidate] = []
        bar = tqdm(total=len(jobs), desc=f"round {round_no}: proposing", disable=not self.cfg.progress)
        for chunk in self._chunks(jobs):
            texts = self._generate([p for _, _, p in chunk], chunk[0][1])
            out.extend(
                Candidate(t, label, temp, round_no) for (label, temp, _), t in zip(chunk, texts, strict=True)
            )
            bar.update(len(chunk))
        bar.close()
        return out

    def _chunks(self, jobs: list[tuple[str, float, str]]) -> list[list[tuple[str, float, str]]]:
        """Batches of at most batch_size jobs that share one temperature."""
        chunks: list[list[tuple[str, float, str]]] = []
        for job in jobs:
            if not chunks or len(chunks[-1]) >= self.cfg.batch_size or chunks[-1][0][1] != job[1]:
                chunks.append([])
            chunks[-1].append(job)
        return chunks

    def _generate(self, prompts: list[str], temperature: float) -> list[str]:
        """Raw continuations (one per prompt); the jobs of a chunk share one temperature by order."""
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, return_token_type_ids=False)
        enc = enc.to(self.model.device)
        self.model.eval()
        with torch.no_grad():
            ids = self.model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_p=self.cfg.top_p,
                max_new_tokens=self.cfg.max_new_tokens,
                stop_strings=["\n"],
                tokenizer=self.tokenizer,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = ids[:, enc["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)


def usable(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates with their text cleaned; empty or runaway ones dropped."""
    kept = []
    for c in candidates:
        text = clean(c.text)
        if text is not None:
            kept.append(Candidate(text, c.label, c.temperature, c.round))
    return kept
