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
        """(label, temperature, prompt): one prompt per label and temperature, each sampled
        `per_label` times; grouped by temperature, shortest prompts first (less left padding)."""
        jobs = [
            (label, t, build_prompt(label, texts, rng, self.cfg.prompt_examples))
            for t in self.cfg.temperatures
            for label, texts in groups.items()
        ]
        temps = list(self.cfg.temperatures)
        return sorted(jobs, key=lambda j: (temps.index(j[1]), len(j[2])))

    def propose(self, groups: dict[str, list[str]], round_no: int = 1) -> list[Candidate]:
        """`per_label` candidates for each label in `groups` (label -> real texts) and temperature."""
        import torch

        rng = random.Random(self.cfg.seed * 1000 + round_no)
        torch.manual_seed(self.cfg.seed * 1000 + round_no)
        jobs = self.jobs(groups, rng)
        n = self.cfg.per_label
        out: list[Candidate] = []
        bar = tqdm(total=len(jobs) * n, desc=f"round {round_no}: proposing", disable=not self.cfg.progress)
        for chunk in self._chunks(jobs):
            texts = self._generate([p for _, _, p in chunk], chunk[0][1], n)
            for i, (label, temp, _) in enumerate(chunk):
                out.extend(Candidate(t, label, temp, round_no) for t in texts[i * n : (i + 1) * n])
            bar.update(len(chunk) * n)
        bar.close()
        return out

    def _chunks(self, jobs: list[tuple[str, float, str]]) -> list[list[tuple[str, float, str]]]:
        """Batches of prompts that share one temperature, about batch_size sequences each."""
        prompts = max(1, self.cfg.batch_size // self.cfg.per_label)
        chunks: list[list[tuple[str, float, str]]] = []
        for job in jobs:
            if not chunks or len(chunks[-1]) >= prompts or chunks[-1][0][1] != job[1]:
                chunks.append([])
            chunks[-1].append(job)
        return chunks

    def _generate(self, prompts: list[str], temperature: float, n: int, sample: bool = True) -> list[str]:
        """`n` continuations per prompt (prompt-major order), one temperature for all.

        Each prompt is encoded once and its key/value cache repeated `n` times: with a prompt per
        sequence, encoding the prompts (5 examples, ~100 tokens) took most of the time on a CPU. With
        SmolLM2 on one thread this took sampling from ~0.47 to ~0.38 s per candidate; the decode steps
        are then the larger part. `sample=False` decodes greedily (tests compare it with `generate`).
        """
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, return_token_type_ids=False)
        ids, mask = enc["input_ids"].to(self.model.device), enc["attention_mask"].to(self.model.device)
        self.model.eval()
        with torch.no_grad():
            # the cache holds every prompt token but the last, which generate() feeds itself
            positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
            cache = self.model(
                input_ids=ids[:, :-1],
                attention_mask=mask[:, :-1],
                position_ids=positions[:, :-1],
                use_cache=True,
            ).past_key_values
            if n > 1:
                cache.batch_repeat_interleave(n)
            ids, mask = ids.repeat_interleave(n, dim=0), mask.repeat_interleave(n, dim=0)
            sampling: dict[str, Any] = (
                {"do_sample": True, "temperature": temperature, "top_p": self.cfg.top_p}
                if sample
                else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
            )
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                past_key_values=cache,
                max_new_tokens=self.cfg.max_new_tokens,
                stop_strings=["\n"],
                tokenizer=self.tokenizer,
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling,
            )
        return self.tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)


def usable(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates with their text cleaned; empty or runaway ones dropped."""
    kept = []
    for c in candidates:
        text = clean(c.text)
        if text is not None:
            kept.append(Candidate(text, c.label, c.temperature, c.round))
    return kept
