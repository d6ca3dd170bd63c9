"""One training run end to end: data, training (plain or GAN), evaluation, reports, export."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from interplay.plugins.nlu.manifest import ModelManifest

from . import splits as cut
from .batches import Encoded, encode
from .config import TrainConfig
from .data import DataFileError, Example, label_list, read_examples
from .encoder import load_classifier, resolve_base
from .evaluate import (
    apply_threshold,
    choose_threshold,
    classification_metrics,
    oos_scores,
    predict_logits,
    softmax,
)
from .report import plot_confusion, plot_history, write_folds_report, write_json, write_report
from .train import FitResult, Trainer

log = logging.getLogger("interplay.trainer")


@dataclass
class RunSpec:
    """Where the data comes from, what to train and where to write it."""

    train: Path
    out: Path
    validation: Path | None = None
    test: Path | None = None
    unlabeled: Path | None = None
    base: str | None = None
    kind: str = "intent"
    oos_label: str | None = "oos"
    oos_class: bool = True  # train `oos_label` rows as a class (else only the threshold rejects)
    threshold: float | None = None  # fixed threshold instead of one chosen on validation
    shots_per_class: int | None = None
    label_fraction: float | None = None
    subsample_per_class: int | None = None
    validation_fraction: float = 0.1
    folds: int | None = None
    export: bool = True
    quantize: bool = True
    opset: int | None = None
    model_dir: Path | None = None  # default: <out>/model
    parity_examples: int | None = None  # default: the whole test split


@dataclass
class Splits:
    """The data of one run after sampling."""

    labeled: list[Example]
    validation: list[Example]
    test: list[Example]
    test_name: str
    unlabeled: list[Example] = field(default_factory=list)


def load_splits(spec: RunSpec, seed: int) -> Splits:
    """Read the files and apply subsampling, few-shot cuts and the validation hold-out."""
    labeled = read_examples(spec.train)
    if spec.oos_label and not spec.oos_class:
        labeled = [e for e in labeled if e.label != spec.oos_label]
    if spec.subsample_per_class:
        labeled = cut.subsample(labeled, spec.subsample_per_class, seed)
    validation = read_examples(spec.validation) if spec.validation else []
    if not validation:
        labeled, validation = cut.holdout(labeled, spec.validation_fraction, seed)
    unlabeled = read_examples(spec.unlabeled, labeled=False) if spec.unlabeled else []
    if spec.shots_per_class:
        labeled, extra = cut.shots_per_class(labeled, spec.shots_per_class, seed)
        unlabeled += extra
    elif spec.label_fraction:
        labeled, extra = cut.label_fraction(labeled, spec.label_fraction, seed)
        unlabeled += extra
    test = read_examples(spec.test) if spec.test else validation
    return Splits(labeled, validation, test, "test" if spec.test else "validation", unlabeled)


def label_ids(examples: list[Example], labels: list[str], oos_label: str | None) -> list[int]:
    """Label indices; an out-of-scope row without an oos class gets -1."""
    index = {label: i for i, label in enumerate(labels)}
    return [index.get(str(e.label), -1) if e.label == oos_label else index[str(e.label)] for e in examples]


def check_labels(s: Splits, spec: RunSpec) -> list[str]:
    """The model's labels; evaluation splits may hold only known labels (and oos rows)."""
    drop = {spec.oos_label} if spec.oos_label and not spec.oos_class else set()

    def known(rows: list[Example]) -> list[Example]:
        return [e for e in rows if e.label not in drop]

    return label_list(s.labeled, known(s.validation), known(s.test))


def encode_split(
    tokenizer: Any, rows: list[Example], labels: list[str], spec: RunSpec, cfg: TrainConfig
) -> Encoded:
    ids = label_ids(rows, labels, spec.oos_label) if rows and rows[0].label is not None else [-1] * len(rows)
    return encode(tokenizer, [e.text for e in rows], ids, cfg.max_length)


def fit_model(
    s: Splits, labels: list[str], spec: RunSpec, cfg: TrainConfig
) -> tuple[Any, Any, Trainer, FitResult]:
    """Build the classifier (k + 1 outputs for GAN-BERT) and train it; returns the trained model."""
    from .gan import FAKE_LABEL, GanTrainer, strip_fake_class

    model, tokenizer = load_classifier(resolve_base(spec.base), [*labels, FAKE_LABEL] if cfg.gan else labels)
    unlabeled = s.unlabeled
    if cfg.gan and cfg.max_unlabeled is not None and len(unlabeled) > cfg.max_unlabeled:
        unlabeled = random.Random(cfg.seed).sample(unlabeled, cfg.max_unlabeled)
    if not cfg.gan and unlabeled:
        log.info(
            "plain fine-tuning ignores %d unlabeled examples (use --gan to learn from them)", len(unlabeled)
        )
    pad_id = tokenizer.pad_token_id or 0
    trainer = (GanTrainer if cfg.gan else Trainer)(model, cfg, pad_id)
    fit = trainer.fit(
        encode_split(tokenizer, s.labeled, labels, spec, cfg),
        encode_split(tokenizer, s.validation, labels, spec, cfg),
        labels,
        encode_split(tokenizer, unlabeled, labels, spec, cfg) if cfg.gan and unlabeled else None,
    )
    if cfg.gan:
        strip_fake_class(trainer.model, len(labels), labels)
    return trainer.model, tokenizer, trainer, fit


def score(
    logits: dict[str, np.ndarray], ys: dict[str, np.ndarray], labels: list[str], spec: RunSpec
) -> tuple[dict[str, Any], float | None]:
    """Test metrics plus out-of-scope results by class and by validation-chosen threshold."""
    test = classification_metrics(ys["test"], logits["test"].argmax(1), labels)
    oos_id = labels.index(spec.oos_label) if spec.oos_label in labels else None
    has_oos = spec.oos_label is not None and (oos_id is not None or (ys["validation"] == -1).any())
    if not has_oos:
        return {"test": test, "oos": None}, spec.threshold
    out: dict[str, Any] = {}
    if oos_id is not None:
        out["oos_class"] = oos_scores(ys["test"], logits["test"].argmax(1), oos_id)
    threshold = spec.threshold
    if threshold is None:
        threshold, out["validation_threshold"] = choose_threshold(
            softmax(logits["validation"]), ys["validation"], oos_id if oos_id is not None else -1
        )
    preds = apply_threshold(softmax(logits["test"]), oos_id, threshold)
    out["threshold_method"] = oos_scores(ys["test"], preds, oos_id)
    out["threshold"] = threshold
    return {"test": test, "oos": out}, threshold


def _logits(
    model: Any,
    tokenizer: Any,
    trainer: Trainer,
    rows: list[Example],
    labels: list[str],
    spec: RunSpec,
    cfg: TrainConfig,
) -> tuple[np.ndarray, np.ndarray]:
    enc = encode_split(tokenizer, rows, labels, spec, cfg)
    logits = predict_logits(
        model, enc, batch_size=cfg.eval_batch_size, pad_id=trainer.pad_id, device=trainer.device
    )
    return logits, np.array(enc.labels)


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures that go into the manifest."""
    test = result["test"]
    summary = {"split": test["split"], "accuracy": test["accuracy"], "macro_f1": test["macro_f1"]}
    if result.get("oos"):
        for method in ("oos_class", "threshold_method"):
            if method in result["oos"]:
                summary[method] = result["oos"][method]
    return summary


def train_classifier(spec: RunSpec, cfg: TrainConfig) -> dict[str, Any]:
    """Train, evaluate, report and (optionally) export one classifier; returns metrics.json's content."""
    if spec.folds:
        return cross_validate(spec, cfg)
    s = load_splits(spec, cfg.seed)
    labels = check_labels(s, spec)
    model, tokenizer, trainer, fit = fit_model(s, labels, spec, cfg)
    logits, ys = {}, {}
    for name, rows in (("validation", s.validation), ("test", s.test)):
        logits[name], ys[name] = _logits(model, tokenizer, trainer, rows, labels, spec, cfg)
    result, threshold = score(logits, ys, labels, spec)
    result["test"]["split"] = s.test_name
    spec.out.mkdir(parents=True, exist_ok=True)
    checkpoint = spec.out / "checkpoint"
    model.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    metrics = {
        "kind": spec.kind,
        "base_model": spec.base or "all-MiniLM-L6-v2",
        "labels": labels,
        "config": cfg.to_dict(),
        "best_epoch": fit.best_epoch,
        "steps": fit.steps,
        "seconds": fit.seconds,
        "data": {
            "labeled": len(s.labeled),
            "unlabeled": len(s.unlabeled),
            "validation": len(s.validation),
            "test": len(s.test),
        },
        "files": {
            k: str(getattr(spec, k)) if getattr(spec, k) else None
            for k in ("train", "validation", "test", "unlabeled")
        },
        "history": [vars(r) for r in fit.history],
        **result,
    }
    plot_history(fit.history, spec.out / "history.png")
    plot_confusion(
        ys["test"],
        _final_predictions(logits["test"], labels, spec, threshold),
        labels,
        spec.out / "confusion.png",
    )
    if spec.export:
        metrics["export"] = _export(
            spec, checkpoint, labels, threshold, metrics, logits["test"], ys["test"], s
        )
    write_json(spec.out / "metrics.json", metrics)
    write_report(spec.out, metrics)
    return metrics


def _final_predictions(
    logits: np.ndarray, labels: list[str], spec: RunSpec, threshold: float | None
) -> np.ndarray:
    oos_id = labels.index(spec.oos_label) if spec.oos_label in labels else None
    return apply_threshold(softmax(logits), oos_id, threshold)


def _export(
    spec: RunSpec,
    checkpoint: Path,
    labels: list[str],
    threshold: float | None,
    metrics: dict[str, Any],
    logits: np.ndarray,
    y: np.ndarray,
    s: Splits,
) -> dict[str, Any]:
    from .export import export_classifier

    n = spec.parity_examples or len(s.test)
    manifest = ModelManifest(
        kind=spec.kind,
        labels=labels,
        base_model=metrics["base_model"],
        max_length=metrics["config"]["max_length"],
        threshold=threshold,
        oos_label=spec.oos_label if threshold is not None or spec.oos_label in labels else None,
        metrics=_summary(metrics),
        training=metrics["config"],
    )
    out = spec.model_dir or spec.out / "model"
    texts = [e.text for e in s.test[:n]]
    y_known = y[:n] if (y[:n] >= 0).all() else None
    written = export_classifier(
        checkpoint,
        out,
        manifest,
        reference_logits=logits[:n],
        texts=texts,
        labels=y_known,
        quantize=spec.quantize,
        opset=spec.opset,
    )
    return {
        "model_dir": str(out),
        "precision": written.precision,
        "parity": written.parity.model_dump() if written.parity else None,
    }


def cross_validate(spec: RunSpec, cfg: TrainConfig) -> dict[str, Any]:
    """K-fold cross-validation on the training file: per-fold and mean scores, no export."""
    rows = read_examples(spec.train)
    if spec.subsample_per_class:
        rows = cut.subsample(rows, spec.subsample_per_class, cfg.seed)
    folds = []
    for k, (train_rows, val_rows) in enumerate(cut.kfold(rows, spec.folds or 2, cfg.seed), start=1):
        s = Splits(train_rows, val_rows, val_rows, "validation")
        labels = check_labels(s, spec)
        model, tokenizer, trainer, fit = fit_model(s, labels, spec, cfg)
        logits, y = _logits(model, tokenizer, trainer, val_rows, labels, spec, cfg)
        scores = classification_metrics(y, logits.argmax(1), labels)
        folds.append(
            {
                "fold": k,
                "accuracy": scores["accuracy"],
                "macro_f1": scores["macro_f1"],
                "best_epoch": fit.best_epoch,
            }
        )
    if not folds:
        raise DataFileError("cross-validation produced no folds: add more training data")
    acc = np.array([f["accuracy"] for f in folds])
    f1 = np.array([f["macro_f1"] for f in folds])
    metrics = {
        "kind": spec.kind,
        "config": cfg.to_dict(),
        "folds": folds,
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std()),
        "macro_f1_mean": float(f1.mean()),
        "macro_f1_std": float(f1.std()),
    }
    spec.out.mkdir(parents=True, exist_ok=True)
    write_json(spec.out / "metrics.json", metrics)
    write_folds_report(spec.out, metrics)
    return metrics
