"""The evaluation gate: a new model is promoted only if it does not regress on the frozen golden set.

For the generator, on the golden set's rated replies (conversations never trained on), through
ONNX Runtime and the variant that would be served:

- perplexity of the replies people rated good (lower is better);
- the feedback score: mean per-token log-probability of good replies minus that of bad replies,
  i.e. how much more the model prefers what people liked (higher is better);
- a permutation test that the candidate moved towards the liked replies more than chance
  (`preference_test`): without it, a model trained on random ratings passes whenever sampling
  noise happens to favour it, so the gate would be a rubber stamp.

The candidate passes when its perplexity is at most `max_perplexity_increase` (relative) worse
and its score at most `max_score_drop` lower than the model served now, and when replies it
samples to the golden prompts show no degeneration beyond the tolerances in degeneration.py,
measured against the *starting* model (the prepared one every version descends from), so drift
cannot pile up round after round within each round's tolerance. For the NLU models the gate
compares accuracy on a labeled golden file. `gate.json` and `gate.md` go next to the model.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from interplay.plugins.onnx_generator import model_dir as layout

from .degeneration import Degeneration, Tolerances, figures, sample_replies
from .examples import TokenizedExample, load_rows, tokenize


@dataclass
class ModelScore:
    """One model's figures on the golden set."""

    model: str
    perplexity: float
    feedback_score: float
    good: int
    bad: int


@dataclass
class GateReport:
    """Candidate against incumbent, the thresholds applied, and the verdict."""

    kind: str
    candidate: dict[str, Any]
    incumbent: dict[str, Any]
    thresholds: dict[str, float]
    passed: bool
    reasons: list[str] = field(default_factory=list)
    golden: str = ""
    degeneration: dict[str, Any] = field(default_factory=dict)  # candidate, start, samples

    def write(self, directory: Path) -> Path:
        """gate.json and a short gate.md, next to the model."""
        (directory / "gate.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"# Gate: {verdict}", "", f"golden set: `{self.golden}`", "",
                 "| | " + " | ".join(self.candidate) + " |", "|---|" + "---|" * len(self.candidate)]
        for name, row in (("candidate", self.candidate), ("incumbent", self.incumbent)):
            lines.append(f"| {name} | " + " | ".join(_fmt(row.get(k)) for k in self.candidate) + " |")
        lines += ["", *[f"- {r}" for r in self.reasons]]
        if self.degeneration:
            names = list(self.degeneration["candidate"])
            lines += ["", "| degeneration | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            for who in ("candidate", "start"):
                row = self.degeneration[who]
                lines.append(f"| {who} | " + " | ".join(_fmt(row[k]) for k in names) + " |")
            lines += ["", "candidate samples:", "", *[f"> {t!r}" for t in self.degeneration["samples"]]]
        (directory / "gate.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return directory / "gate.json"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def variant_for(root: Path, precision: str) -> Path:
    """The variant directory the runtime would load on the CPU ('auto': int8, else what exists)."""
    if (root / layout.MANIFEST).is_file():
        return root
    chosen = layout.choose_precision(precision, cuda=False)
    if not (root / chosen / layout.MANIFEST).is_file():
        chosen = next((p for p in layout.PRECISIONS if (root / p / layout.MANIFEST).is_file()), chosen)
    return layout.resolve(root, chosen).path


def score_model(path: Path, examples: list[TokenizedExample], name: str) -> tuple[ModelScore, list[float]]:
    """Perplexity on good replies and the good-minus-bad log-probability margin, via ONNX Runtime;
    also each reply's summed log-probability (for the preference test)."""
    from interplay.plugins.onnx_generator import DecoderSession
    from interplay.trainer.lm.perplexity import ReplyExample, reply_nll

    session = DecoderSession(path / layout.read_manifest(path).get("model_file", "model.onnx"))
    nll = {True: 0.0, False: 0.0}
    tokens = {True: 0, False: 0}
    each, per_token = [], []
    for example in examples:
        total, count = reply_nll(session, ReplyExample(example.prompt, example.reply))
        nll[example.good] += total
        tokens[example.good] += count
        each.append(-total)
        per_token.append(-total / max(count, 1))
    good = [v for v, e in zip(per_token, examples, strict=True) if e.good]
    bad = [v for v, e in zip(per_token, examples, strict=True) if not e.good]
    margin = sum(good) / max(len(good), 1) - (sum(bad) / len(bad) if bad else 0.0)
    return ModelScore(name, math.exp(nll[True] / max(tokens[True], 1)), margin, len(good), len(bad)), each


def preference_test(candidate: list[float], incumbent: list[float], good: list[bool], *,
                    permutations: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Did the candidate move towards what held-out people liked, beyond chance?

    Per golden reply, d = the candidate's log-probability of the whole reply minus the incumbent's
    (KTO's implied reward: the chance of saying that reply, not a per-token average that a long
    reply's predictable tail dilutes);
    the gain is mean(d | liked) - mean(d | disliked). Under "no preference was learned" the labels
    are exchangeable, so the p-value is the share of label permutations whose gain is at least as
    large. Returns (gain, p). A model trained on random ratings gains nothing real and is held back;
    an unchanged model has gain 0 and p = 1.
    """
    import numpy as np

    d = np.asarray(candidate) - np.asarray(incumbent)
    labels = np.asarray(good, dtype=bool)
    if labels.all() or not labels.any():
        return 0.0, 1.0

    def gain(mask: np.ndarray) -> np.ndarray:
        return (d * mask).sum(-1) / mask.sum(-1) - (d * ~mask).sum(-1) / (~mask).sum(-1)

    observed = float(gain(labels))
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(labels) for _ in range(permutations)])
    p = (1 + int((gain(shuffled) >= observed - 1e-12).sum())) / (1 + permutations)
    return observed, p


def golden_examples(golden: Path, tokenizer: Any, system_prompt: str) -> list[TokenizedExample]:
    rows = load_rows(golden / "golden.jsonl")
    return tokenize(rows, tokenizer, system_prompt)


@dataclass(frozen=True)
class DegenerationCheck:
    """Sampling for the degeneration check: the bot's own settings, a fixed seed, held-out prompts."""

    prompts: int = 32  # 0 = no degeneration check
    params: Any = None  # SamplingParams; None = the onnx generator's defaults
    start: Path | None = None  # the starting model's root (its figures are cached there)
    tolerances: Tolerances = field(default_factory=Tolerances)
    threads: int | None = None


def degeneration_figures(path: Path, prompts: list[list[int]], check: DegenerationCheck,
                         extra_words: list[str]) -> tuple[Degeneration, list[str]]:
    sampled = sample_replies(path, prompts, check.params, threads=check.threads)
    return figures(sampled.texts, sampled.tokens, sampled.finish, extra_words), sampled.texts


def start_figures(path: Path, prompts: list[list[int]], check: DegenerationCheck,
                  extra_words: list[str]) -> Degeneration:
    """The starting model's figures, cached next to it for the same prompts and sampling."""
    key = hashlib.sha256(json.dumps([layout.read_manifest(path).get("version"), prompts,
                                     repr(check.params)]).encode()).hexdigest()[:16]
    cache = (check.start or path) / "degeneration-start.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return Degeneration(**cached["figures"])
    except (OSError, ValueError, TypeError):
        pass
    result, _ = degeneration_figures(path, prompts, check, extra_words)
    try:
        cache.write_text(json.dumps({"key": key, "figures": result.as_dict()}, indent=2) + "\n",
                         encoding="utf-8")
    except OSError:  # a read-only model root: measure again next time
        pass
    return result


def gate_generator(candidate: Path, incumbent: Path, golden: Path, *, system_prompt: str, precision: str,
                   max_perplexity_increase: float, max_score_drop: float,
                   min_preference_confidence: float = 0.0,
                   degeneration: DegenerationCheck | None = None) -> GateReport:
    """Score both models on the golden set and decide; the report is written into `candidate`."""
    from interplay.plugins.onnx_generator import load_tokenizer

    cand_dir, inc_dir = variant_for(candidate, precision), variant_for(incumbent, precision)
    examples = golden_examples(golden, load_tokenizer(cand_dir), system_prompt)
    new, new_each = score_model(cand_dir, examples, layout.read_manifest(cand_dir).get("version", "cand"))
    old, old_each = score_model(inc_dir, examples, layout.read_manifest(inc_dir).get("version", "served"))
    limits = {"max_perplexity_increase": max_perplexity_increase, "max_score_drop": max_score_drop,
              "min_preference_confidence": min_preference_confidence}
    reasons = []
    ppl_ok = new.perplexity <= old.perplexity * (1 + max_perplexity_increase)
    score_ok = new.feedback_score >= old.feedback_score - max_score_drop
    reasons.append(f"perplexity on good golden replies {new.perplexity:.3f} vs {old.perplexity:.3f}: "
                   + ("ok" if ppl_ok else "regressed"))
    reasons.append(f"feedback score {new.feedback_score:+.4f} vs {old.feedback_score:+.4f}: "
                   + ("ok" if score_ok else "regressed"))
    if new.good == 0:
        reasons.append("the golden set has no good replies: nothing to compare on")
    passed = ppl_ok and score_ok and new.good > 0
    if min_preference_confidence > 0:
        gain, p = preference_test(new_each, old_each, [e.good for e in examples])
        learned = gain > 0 and p <= 1 - min_preference_confidence
        reasons.append(f"preference gain on golden replies {gain:+.4f} (permutation p = {p:.3f}): "
                       + ("learned" if learned else f"not above chance at {min_preference_confidence:.0%}"))
        passed = passed and learned
    figures_report: dict[str, Any] = {}
    if degeneration and degeneration.prompts > 0:
        prompts = list(dict.fromkeys(tuple(e.prompt) for e in examples))[: degeneration.prompts]
        ids = [list(p) for p in prompts]
        words = [row["context"][-1]["content"] for row in load_rows(golden / "golden.jsonl")]
        start_dir = variant_for(degeneration.start or incumbent, precision)
        cand_fig, samples = degeneration_figures(cand_dir, ids, degeneration, words)
        start_fig = start_figures(start_dir, ids, degeneration, words)
        failures = degeneration.tolerances.failures(cand_fig, start_fig)
        reasons += failures or [f"degeneration on {len(ids)} held-out prompts: within tolerance"]
        passed = passed and not failures
        limits |= {f"degeneration_{k}": v for k, v in asdict(degeneration.tolerances).items()}
        figures_report = {"candidate": cand_fig.as_dict(), "start": start_fig.as_dict(),
                          "samples": samples[:3]}
    report = GateReport("generator", asdict(new), asdict(old), limits, passed, reasons, str(golden),
                        figures_report)
    report.write(candidate)
    return report
