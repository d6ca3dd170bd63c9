"""The evaluation gate: a new model is promoted only if it does not regress on the frozen golden set.

For the generator, on the golden set's rated replies (conversations never trained on), through
ONNX Runtime and the variant that would be served:

- perplexity of the replies people rated good (lower is better);
- the feedback score: mean per-token log-probability of good replies minus that of bad replies,
  i.e. how much more the model prefers what people liked (higher is better).

The candidate passes when its perplexity is at most `max_perplexity_increase` (relative) worse
and its score at most `max_score_drop` lower than the model served now. For the NLU models the
gate compares accuracy on a labeled golden file. `gate.json` and `gate.md` go next to the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from interplay.plugins.onnx_generator import model_dir as layout

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

    def write(self, directory: Path) -> Path:
        """gate.json and a short gate.md, next to the model."""
        (directory / "gate.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"# Gate: {verdict}", "", f"golden set: `{self.golden}`", "",
                 "| | " + " | ".join(self.candidate) + " |", "|---|" + "---|" * len(self.candidate)]
        for name, row in (("candidate", self.candidate), ("incumbent", self.incumbent)):
            lines.append(f"| {name} | " + " | ".join(_fmt(row.get(k)) for k in self.candidate) + " |")
        lines += ["", *[f"- {r}" for r in self.reasons]]
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


def score_model(path: Path, examples: list[TokenizedExample], name: str) -> ModelScore:
    """Perplexity on good replies and the good-minus-bad log-probability margin, via ONNX Runtime."""
    from interplay.plugins.onnx_generator.session import DecoderSession
    from interplay.trainer.lm.perplexity import ReplyExample, reply_nll

    session = DecoderSession(path / layout.read_manifest(path).get("model_file", "model.onnx"))
    nll = {True: 0.0, False: 0.0}
    tokens = {True: 0, False: 0}
    per_token: dict[bool, list[float]] = {True: [], False: []}
    for example in examples:
        total, count = reply_nll(session, ReplyExample(example.prompt, example.reply))
        nll[example.good] += total
        tokens[example.good] += count
        per_token[example.good].append(-total / max(count, 1))
    good = sum(per_token[True]) / max(len(per_token[True]), 1)
    bad = sum(per_token[False]) / len(per_token[False]) if per_token[False] else 0.0
    return ModelScore(name, math.exp(nll[True] / max(tokens[True], 1)), good - bad,
                      len(per_token[True]), len(per_token[False]))


def golden_examples(golden: Path, tokenizer: Any, system_prompt: str) -> list[TokenizedExample]:
    rows = load_rows(golden / "golden.jsonl")
    return tokenize(rows, tokenizer, system_prompt)


def gate_generator(candidate: Path, incumbent: Path, golden: Path, *, system_prompt: str, precision: str,
                   max_perplexity_increase: float, max_score_drop: float) -> GateReport:
    """Score both models on the golden set and decide; the report is written into `candidate`."""
    from interplay.plugins.onnx_generator.generator import load_tokenizer

    cand_dir, inc_dir = variant_for(candidate, precision), variant_for(incumbent, precision)
    examples = golden_examples(golden, load_tokenizer(cand_dir), system_prompt)
    new = score_model(cand_dir, examples, layout.read_manifest(cand_dir).get("version", "candidate"))
    old = score_model(inc_dir, examples, layout.read_manifest(inc_dir).get("version", "incumbent"))
    limits = {"max_perplexity_increase": max_perplexity_increase, "max_score_drop": max_score_drop}
    reasons = []
    ppl_ok = new.perplexity <= old.perplexity * (1 + max_perplexity_increase)
    score_ok = new.feedback_score >= old.feedback_score - max_score_drop
    reasons.append(f"perplexity on good golden replies {new.perplexity:.3f} vs {old.perplexity:.3f}: "
                   + ("ok" if ppl_ok else "regressed"))
    reasons.append(f"feedback score {new.feedback_score:+.4f} vs {old.feedback_score:+.4f}: "
                   + ("ok" if score_ok else "regressed"))
    if new.good == 0:
        reasons.append("the golden set has no good replies: nothing to compare on")
    report = GateReport("generator", asdict(new), asdict(old), limits, ppl_ok and score_ok and new.good > 0,
                        reasons, str(golden))
    report.write(candidate)
    return report
