"""`interplay train nlu --from-logs`: GAN-BERT retraining of intent or sentiment with logged utterances.

The labeled data is the model's own training data (the embedded defaults, or `--train`); the
unlabeled data is what people actually wrote (`unlabeled.csv` of a dataset export). The candidate
goes into `<model root>/versions/<id>/` and is gated on a frozen labeled golden file (the test
split by default): its accuracy, measured through the runtime's ONNX classifier exactly as the
served model's is, may not be lower than the served model's by more than `max_accuracy_drop`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from interplay.core import InterplayError
from interplay.core import model_registry as registry
from interplay.core.plugins import plugin_model_root

from .gate import GateReport
from .train import seeded


@dataclass(frozen=True)
class NluJob:
    """What to retrain and with which data."""

    kind: str  # intent or sentiment (the analyzer's plugin name)
    unlabeled: Path
    train: Path | None = None  # default: the embedded data of the default model
    golden: Path | None = None  # default: its test split
    golden_limit: int = 1000  # golden rows scored per model (the first ones: stable across runs)
    max_accuracy_drop: float = 0.0
    max_steps: int | None = None
    threads: int = 1
    base: str | None = None  # encoder to fine-tune (directory or hub id); default: the default model's


def check_inputs(config: Any, job: NluJob) -> Path:
    """Fail before training when the logs' utterances or the served model to gate against are missing.

    Returns the served model's directory (the incumbent).
    """
    from interplay.core.model_dir import read_manifest

    if not job.unlabeled.is_file():
        raise InterplayError(f"{job.unlabeled.parent} has no {job.unlabeled.name}: pass --dataset a "
                             "directory written by `interplay data export`, or run the export again")
    root = plugin_model_root(config, job.kind)
    incumbent = registry.current_path(root) or root
    try:
        read_manifest(incumbent)
    except InterplayError:
        raise InterplayError(f"no served {job.kind} model in {incumbent} to gate the candidate against: "
                             "run `interplay models prepare` first (or set [plugins."
                             f"{job.kind}] model_dir)") from None
    return incumbent


def accuracy(model_dir: Path, examples: list[Any], threads: int = 1) -> float:
    """Share of golden examples the runtime classifier labels right (out-of-scope rejection included)."""
    from interplay.plugins.nlu import OnnxTextClassifier

    classifier = OnnxTextClassifier(model_dir, threads=threads, device="cpu")
    right = 0
    for start in range(0, len(examples), 64):
        batch = examples[start : start + 64]
        predictions = classifier.predict([e.text for e in batch])
        right += sum(p.label == e.label for p, e in zip(predictions, batch, strict=True))
    return right / max(len(examples), 1)


def train_candidate(config: Any, job: NluJob, out: Path) -> Path:
    """GAN-BERT on labeled + logged unlabeled data, exported into `out` like any classifier.

    It fine-tunes on all the labeled data (the `models prepare --finetune` recipe): the first run's
    quick recipe (20 rows per intent) cannot beat the served embedding-head default at its gate."""
    from interplay.trainer.classifier.defaults import default_spec_and_config
    from interplay.trainer.classifier.run import train_classifier

    spec, cfg = default_spec_and_config(job.kind, out, out.parent / f".{out.name}-run", full=True)
    spec = replace(spec, unlabeled=job.unlabeled)
    if job.base is not None:
        spec = replace(spec, base=job.base)
    if job.train is not None:
        spec = replace(spec, train=job.train, validation=None)
    if job.golden is not None:
        spec = replace(spec, test=job.golden)
    cfg = replace(cfg, gan=True, max_steps=job.max_steps)
    with seeded(cfg.seed):  # the new head and GAN-BERT's generator are built before training seeds
        train_classifier(spec, cfg)
    return out


def gate_classifier(candidate: Path, incumbent: Path, golden: Path, job: NluJob) -> GateReport:
    """Accuracy of both models on the golden file; the report is written into `candidate`."""
    from interplay.trainer.classifier.data import read_examples

    examples = read_examples(golden)[: job.golden_limit]
    new, old = accuracy(candidate, examples, job.threads), accuracy(incumbent, examples, job.threads)
    passed = new >= old - job.max_accuracy_drop
    reason = f"{job.kind} accuracy on {len(examples)} golden examples {new:.4f} vs {old:.4f}: " + (
        "ok" if passed else "regressed")
    report = GateReport(job.kind, {"accuracy": new}, {"accuracy": old},
                        {"max_accuracy_drop": job.max_accuracy_drop}, passed, [reason], str(golden))
    report.write(candidate)
    return report


def new_version_dir(root: Path) -> Path:
    """`<root>/versions/<UTC time>-gan`, with a suffix when a run in the same second took that name."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    versions = root / registry.VERSIONS
    name, n = f"{stamp}-gan", 1
    while (versions / name).exists() or (versions / f".{name}-run").exists():
        n += 1
        name = f"{stamp}-gan-{n}"
    return versions / name


def retrain_nlu(config: Any, job: NluJob, *, promote: bool = True) -> tuple[Path, GateReport]:
    """Train, gate against the served model and (if it passes) promote; returns the version and report."""
    from interplay.trainer.classifier.defaults import DEFAULTS, data_file

    incumbent = check_inputs(config, job)
    root = plugin_model_root(config, job.kind)
    version = train_candidate(config, job, new_version_dir(root))
    golden = job.golden or data_file(DEFAULTS[job.kind].data, "test")
    report = gate_classifier(version, incumbent, golden, job)
    if report.passed and promote:
        registry.promote(root, {"id": version.name, "path": str(version.relative_to(root)),
                                "gate": "gate.json", "job": {k: str(v) for k, v in asdict(job).items()}})
    return version, report
