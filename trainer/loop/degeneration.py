"""Degeneration checks for the gate: does a candidate still talk like a language model?

Perplexity on golden replies says how well a model predicts text people wrote or liked; it
does not see what the model *says*. A candidate that learned a rule can still babble
("BirrLaaAle1234"), loop, ramble or never stop. So the gate also samples replies from the
candidate and from the starting model to the same held-out prompts, with the same seeds and the
sampling the bot serves with, through ONNX Runtime, and compares:

- `nonword_rate`: share of words (letter runs; a token mixing letters and digits) not in the
  dictionary; passes at <= start + 0.02
- `distinct_2`: distinct word bigrams / all bigrams over all replies; >= 0.75 x start
- `repeated_3`: mean share of a reply's word 3-grams that repeat an earlier one; <= start + 0.05
- `mean_tokens`: mean generated tokens per reply; <= 1.5 x start + 2
- `unfinished`: share of replies cut off at the token limit (never stopped); <= start + 0.20
- `empty`: share of empty replies; <= start + 0.05

Why these tolerances: with 32 prompts one reply moves a share by 0.03, and sampling noise on
`unfinished` (p ~ 0.5) is about 0.09 per model even with shared seeds, hence 0.20; garbage
words are rare in the starting model, so +2 points is a real change while a name or a rare
word the dictionary lacks is not; distinct-2 and repeated-3 catch a model that collapses onto
one phrase or loops (a 25% drop in distinct bigrams is far outside run-to-run noise, which we
measured at about 5%); length may shrink freely (a rule may ask for short replies) but not blow
up. The dictionary is every English word wordfreq has seen (320k, from Wikipedia, subtitles,
books, web text and more), plus the embedded CLINC150 and SST-2 training texts and the prompts
themselves. A dictionary of the embedded texts alone missed ordinary words ("bicycle",
"enthusiasts"): SmolLM2's own replies scored 6-7% non-words, and a candidate that merely talked
about other things moved that share past the tolerance.
"""

from __future__ import annotations

import lzma
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

WORD = re.compile(r"[^\W\d_]+")
DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Degeneration:
    """A model's figures on the held-out prompts (see the module docstring)."""

    nonword_rate: float
    distinct_2: float
    repeated_3: float
    mean_tokens: float
    unfinished: float
    empty: float
    replies: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Tolerances:
    """How much worse than the starting model a candidate may be (documented above)."""

    nonword_rate: float = 0.02  # absolute
    distinct_2: float = 0.75  # relative floor
    repeated_3: float = 0.05  # absolute
    mean_tokens: float = 1.5  # relative ceiling (+2 tokens)
    unfinished: float = 0.20  # absolute
    empty: float = 0.05  # absolute

    def failures(self, candidate: Degeneration, start: Degeneration) -> list[str]:
        """What is worse than allowed, one line each (empty: passes)."""
        checks = [
            ("nonword_rate", candidate.nonword_rate <= start.nonword_rate + self.nonword_rate),
            ("distinct_2", candidate.distinct_2 >= start.distinct_2 * self.distinct_2),
            ("repeated_3", candidate.repeated_3 <= start.repeated_3 + self.repeated_3),
            ("mean_tokens", candidate.mean_tokens <= start.mean_tokens * self.mean_tokens + 2),
            ("unfinished", candidate.unfinished <= start.unfinished + self.unfinished),
            ("empty", candidate.empty <= start.empty + self.empty),
        ]
        return [f"{name} {getattr(candidate, name):.3f} vs start {getattr(start, name):.3f}: beyond tolerance"
                for name, ok in checks if not ok]


@lru_cache(maxsize=1)
def dictionary() -> frozenset[str]:
    """Lower-cased English words: wordfreq's whole English list, and the embedded CLINC150 and
    SST-2 training sets (wordfreq is a well-kept word-frequency library; hand-made lists drift)."""
    from wordfreq import top_n_list

    words: set[str] = {w for entry in top_n_list("en", 10**7) for w in WORD.findall(entry)}
    for name in ("clinc150", "sst2"):
        path = DATA / name / "train.csv.xz"
        if path.is_file():
            with lzma.open(path, "rt", encoding="utf-8") as handle:
                words.update(w.lower() for w in WORD.findall(handle.read()))
    return frozenset(words)


def nonwords(text: str, known: frozenset[str]) -> tuple[int, int]:
    """(non-words, words) in a reply: a token mixing letters and digits counts as one non-word."""
    bad = total = 0
    for token in text.split():
        letters = WORD.findall(token)
        if not letters:
            continue
        total += 1
        mixed = any(c.isdigit() for c in token) and not token.rstrip(".,!?;:)").isdigit()
        if mixed or any(w.lower() not in known for w in letters):
            bad += 1
    return bad, total


def _grams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def figures(replies: Sequence[str], token_counts: Sequence[int], finish: Sequence[str],
            extra_words: Sequence[str] = ()) -> Degeneration:
    """The degeneration figures of a set of replies."""
    known = dictionary() | {w.lower() for t in extra_words for w in WORD.findall(t)}
    bad = total = 0
    bigrams: list[tuple[str, ...]] = []
    repeats = []
    for reply in replies:
        b, t = nonwords(reply, known)
        bad, total = bad + b, total + t
        words = [w.lower() for w in WORD.findall(reply)]
        bigrams += _grams(words, 2)
        trigrams = _grams(words, 3)
        if trigrams:
            repeats.append(1 - len(set(trigrams)) / len(trigrams))
    n = max(len(replies), 1)
    return Degeneration(
        nonword_rate=bad / max(total, 1),
        distinct_2=len(set(bigrams)) / max(len(bigrams), 1),
        repeated_3=sum(repeats) / max(len(repeats), 1),
        mean_tokens=sum(token_counts) / n,
        unfinished=sum(f in ("length", "context") for f in finish) / n,
        empty=sum(not r.strip() for r in replies) / n,
        replies=len(replies),
    )


@dataclass(frozen=True)
class Sampled:
    """Replies sampled from one model, with their token counts and finish reasons."""

    texts: list[str]
    tokens: list[int]
    finish: list[str]


def sample_replies(model_dir: Path, prompts: list[list[int]], params: Any, *, threads: int | None = None,
                   timeout: float = 600.0) -> Sampled:
    """Sample one reply per prompt through ONNX Runtime, prompt i with seed `params.seed + i`.

    The same prompts and seeds for two models make their figures comparable (common random
    numbers), and the replies are batched the way the bot batches them.
    """
    import dataclasses

    from interplay.plugins.onnx_generator import FINISH, BatchEngine, DecoderSession, Request, load_tokenizer
    from interplay.plugins.onnx_generator import model_dir as layout

    manifest = layout.read_manifest(model_dir)
    session = DecoderSession(model_dir / manifest.get("model_file", "model.onnx"), threads=threads)
    engine = BatchEngine(session, set(manifest.get("stop_token_ids", [])), max_batch=16,
                         context_length=int(manifest.get("context_length", 2048)))
    tokens: list[list[int]] = [[] for _ in prompts]
    finish = [""] * len(prompts)
    done = threading.Semaphore(0)

    def emitter(i: int) -> Any:
        def emit(kind: str, value: Any) -> None:
            if kind == FINISH:
                finish[i] = str(value)
                done.release()
            else:
                tokens[i].append(int(value))
        return emit

    engine.start()
    try:
        base = params.seed or 0
        for i, ids in enumerate(prompts):
            engine.submit(Request(list(ids), dataclasses.replace(params, seed=base + i), emitter(i)))
        for _ in prompts:
            if not done.acquire(timeout=timeout):
                raise TimeoutError(f"sampling gate replies from {model_dir} took over {timeout:.0f} s")
    finally:
        engine.stop()
    tokenizer = load_tokenizer(model_dir)
    return Sampled([tokenizer.decode(t) for t in tokens], [len(t) for t in tokens], finish)
