"""One tagger run end to end: data, training (tags or joint), scores, comparison, reports, export."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from interplay.core.model_dir import ModelManifest
from interplay.plugins.entities import Span, bio_labels

from ..classifier.config import TrainConfig
from ..classifier.encoder import resolve_base
from ..classifier.report import plot_history, write_json
from .data import DataFileError, TaggedExample, entity_labels, holdout, read_tagged, shots_per_intent
from .evaluate import (
    allowed_tags,
    constrained_spans,
    entity_report,
    intent_accuracy,
    predict,
    predicted_spans,
    snips_slot_metrics,
    word_sequences,
)
from .model import JointTagger, TaggedEncoded, encode_tagged, load_tagger
from .report import write_report
from .train import TaggerTrainer

log = logging.getLogger("interplay.trainer")
Mode = Literal["tags", "joint"]


@dataclass
class TaggerSpec:
    """Where the data comes from, what to train and where to write it."""

    train: Path
    out: Path
    validation: Path | None = None
    test: Path | None = None
    base: str | None = None
    mode: Mode = "tags"  # "joint": one encoder with a tagging head and an intent head
    compare: bool = False  # also train the other arrangement (separate tagger + intent classifier, or joint)
    intent_weight: float = 1.0
    shots_per_intent: int | None = None
    validation_fraction: float = 0.1
    max_validation: int | None = None  # cap the held-out validation rows (evaluation is not free on CPUs)
    export: bool = True
    quantize: bool = True
    opset: int | None = None
    model_dir: Path | None = None  # default: <out>/model
    kind: str = "entities"


@dataclass
class Data:
    """The rows of one run after sampling, and the label sets."""

    train: list[TaggedExample]
    validation: list[TaggedExample]
    test: list[TaggedExample]
    test_name: str
    tags: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)


def load_data(spec: TaggerSpec, seed: int) -> Data:
    """Read the files; apply the few-shot cut and the validation hold-out."""
    rows = read_tagged(spec.train)
    validation = read_tagged(spec.validation) if spec.validation else []
    if spec.shots_per_intent:
        rows, rest = shots_per_intent(rows, spec.shots_per_intent, seed)
        if not validation:  # hold out from rows the few-shot cut left over, not from the few shots
            _, validation = holdout(
                rest, min(1.0, len(rows) * spec.validation_fraction / max(len(rest), 1)), seed
            )
    if not validation:
        rows, validation = holdout(rows, spec.validation_fraction, seed)
    if spec.max_validation and len(validation) > spec.max_validation:
        validation = validation[: spec.max_validation]
    test = read_tagged(spec.test) if spec.test else validation
    labels = entity_labels(rows)
    if not labels:
        raise DataFileError(f"{spec.train} has no entities to learn: add entities to the training rows")
    unseen = sorted(set(entity_labels(validation, test)) - set(labels))
    if unseen:
        log.warning("entity labels never seen in training will be missed: %s", ", ".join(unseen))
    intents = sorted({e.intent for e in rows if e.intent}) if all(e.intent for e in rows) else []
    return Data(rows, validation, test, "test" if spec.test else "validation", bio_labels(labels), intents)


def fit(
    d: Data, spec: TaggerSpec, cfg: TrainConfig, joint: bool
) -> tuple[JointTagger, Any, TaggerTrainer, Any]:
    """Build and train one tagger (with an intent head when `joint`)."""
    if joint and not d.intents:
        raise DataFileError("--joint needs an intent on every training row (JSONL 'intent')")
    model, tokenizer = load_tagger(resolve_base(spec.base), d.tags, len(d.intents) if joint else 0)
    tag_index = {t: i for i, t in enumerate(d.tags)}
    intent_index = {name: i for i, name in enumerate(d.intents)}

    def enc(rows: list[TaggedExample]) -> TaggedEncoded:
        return encode_tagged(tokenizer, rows, tag_index, intent_index, cfg.max_length)

    trainer = TaggerTrainer(
        model,
        cfg,
        tokenizer.pad_token_id or 0,
        tags=d.tags,
        intents=d.intents,
        validation_rows=d.validation,
        intent_weight=spec.intent_weight,
    )
    result = trainer.fit(enc(d.train), enc(d.validation), d.tags)
    return model, tokenizer, trainer, result


def score(
    model: JointTagger,
    tokenizer: Any,
    trainer: TaggerTrainer,
    d: Data,
    cfg: TrainConfig,
    intents: list[str] | None = None,
) -> tuple[dict[str, Any], Any, TaggedEncoded]:
    """Test scores: seqeval entity report, SNIPS mean per-slot F1 and (joint) intent accuracy."""
    enc = encode_tagged(tokenizer, d.test, {t: i for i, t in enumerate(d.tags)}, {}, cfg.max_length)
    preds = predict(model, enc, batch_size=cfg.eval_batch_size, pad_id=trainer.pad_id, device=trainer.device)
    if intents is None and preds.intent_logits is not None:
        intents = [d.intents[i] for i in preds.intent_logits.argmax(1)]
    return logit_scores(d, enc, preds.tag_logits, intents), preds, enc


def logit_scores(
    d: Data, enc: TaggedEncoded, tag_logits: list[np.ndarray], intents: list[str] | None
) -> dict[str, Any]:
    """span_scores, plus the SNIPS metric with tags limited to each intent's slots (gold or predicted)."""
    spans = predicted_spans(enc, tag_logits, d.tags)
    result = span_scores(d, enc, spans, intents)
    if d.intents and all(e.intent in d.intents for e in d.test):
        allowed = allowed_tags(d.train, d.tags)
        gold = [str(e.intent) for e in d.test]
        fixed = constrained_spans(enc, tag_logits, d.tags, gold, allowed)
        result["snips_constrained_gold_intent"] = _strip(snips_slot_metrics(d.test, fixed))
        if intents is not None:
            fixed = constrained_spans(enc, tag_logits, d.tags, intents, allowed)
            result["snips_constrained"] = _strip(snips_slot_metrics(d.test, fixed, intents))
    # for the comparison; dropped before metrics.json
    result.update({"_spans": spans, "_logits": tag_logits, "_enc": enc})
    return result


def span_scores(
    d: Data, enc: TaggedEncoded, spans: list[list[Span]], intents: list[str] | None
) -> dict[str, Any]:
    """Scores of predicted spans (from PyTorch or from an exported model) on the test rows."""
    gold, guess = word_sequences(enc, d.test, spans)
    result: dict[str, Any] = {
        "split": d.test_name,
        "examples": len(d.test),
        "entities": entity_report(gold, guess),
    }
    if all(e.intent for e in d.test):
        result["snips_tagger_only"] = _strip(snips_slot_metrics(d.test, spans))
        if intents is not None:
            result["snips"] = snips_slot_metrics(d.test, spans, intents)
            result["intent_accuracy"] = intent_accuracy(d.test, intents)
    return result


def _strip(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "per_pair"}


def separate_intents(d: Data, spec: TaggerSpec, cfg: TrainConfig) -> tuple[list[str], dict[str, Any]]:
    """Train the classifier trainer's intent model on the same rows; its test predictions and scores."""
    from ..classifier.batches import encode
    from ..classifier.encoder import load_classifier
    from ..classifier.evaluate import predict_logits
    from ..classifier.train import Trainer

    model, tokenizer = load_classifier(resolve_base(spec.base), d.intents)
    index = {name: i for i, name in enumerate(d.intents)}

    def enc(rows: list[TaggedExample]) -> Any:
        return encode(tokenizer, [e.text for e in rows], [index[str(e.intent)] for e in rows], cfg.max_length)

    trainer = Trainer(model, cfg, tokenizer.pad_token_id or 0)
    result = trainer.fit(enc(d.train), enc(d.validation), d.intents)
    logits = predict_logits(
        model, enc(d.test), batch_size=cfg.eval_batch_size, pad_id=trainer.pad_id, device=trainer.device
    )
    predicted = [d.intents[i] for i in logits.argmax(1)]
    return predicted, {
        "seconds": result.seconds,
        "best_epoch": result.best_epoch,
        "accuracy": intent_accuracy(d.test, predicted),
    }


def save_checkpoint(model: JointTagger, tokenizer: Any, d: Data, path: Path) -> Path:
    """The token classifier as a Hugging Face checkpoint (what Optimum exports); the intent head beside it."""
    model.tagger.save_pretrained(path)
    tokenizer.save_pretrained(path)
    if model.intent_head is not None:
        torch.save(model.intent_head.state_dict(), path / "intent_head.pt")
        (path / "intents.json").write_text(json.dumps(d.intents) + "\n", encoding="utf-8")
    return path


def compare(d: Data, spec: TaggerSpec, cfg: TrainConfig, primary: dict[str, Any]) -> dict[str, Any]:
    """Train the other arrangement and score both on the same test rows (separate = tagger + classifier)."""
    known = set(d.intents)
    if not known or any(e.intent not in known for e in d.validation + d.test):
        raise DataFileError("--compare needs an intent on every row, and only intents seen in training")
    intents, intent_run = separate_intents(d, spec, cfg)
    model, tokenizer, trainer, result = fit(d, spec, cfg, joint=spec.mode == "tags")
    other, _, _ = score(model, tokenizer, trainer, d, cfg)
    other["_fit"] = {"seconds": result.seconds, "best_epoch": result.best_epoch, "steps": result.steps}
    separate, joint = (primary, other) if spec.mode == "tags" else (other, primary)
    return {"separate": _arrangement(separate, d, intents, intent_run), "joint": _arrangement(joint, d)}


def _arrangement(
    scores: dict[str, Any],
    d: Data,
    intents: list[str] | None = None,
    intent_run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Comparable figures of one arrangement; `intents` come from the separate classifier."""
    out = {
        "entity_micro_f1": scores["entities"]["micro"]["f1"],
        "mean_slot_f1_gold_intent": scores.get("snips_tagger_only", {}).get("mean_slot_f1"),
        "tagger": scores["_fit"],
    }
    if intents is not None:
        plain = snips_slot_metrics(d.test, scores["_spans"], intents)
        fixed = constrained_spans(
            scores["_enc"], scores["_logits"], d.tags, intents, allowed_tags(d.train, d.tags)
        )
        constrained = snips_slot_metrics(d.test, fixed, intents)
        out["intent_accuracy"] = intent_accuracy(d.test, intents)
        out["intent_classifier"] = intent_run
    else:
        plain, constrained = scores.get("snips", {}), scores.get("snips_constrained", {})
        out["intent_accuracy"] = scores.get("intent_accuracy")
    out["mean_slot_f1"] = plain.get("mean_slot_f1")
    out["mean_slot_f1_gold_pairs"] = plain.get("mean_slot_f1_gold_pairs")
    out["constrained_mean_slot_f1_gold_pairs"] = constrained.get("mean_slot_f1_gold_pairs")
    return out


def train_tagger(spec: TaggerSpec, cfg: TrainConfig) -> dict[str, Any]:
    """Train, evaluate, report and (optionally) export one tagger; returns metrics.json's content."""
    d = load_data(spec, cfg.seed)
    model, tokenizer, trainer, result = fit(d, spec, cfg, joint=spec.mode == "joint")
    test, preds, enc = score(model, tokenizer, trainer, d, cfg)
    test["_fit"] = {"seconds": result.seconds, "best_epoch": result.best_epoch, "steps": result.steps}
    spec.out.mkdir(parents=True, exist_ok=True)
    checkpoint = save_checkpoint(model, tokenizer, d, spec.out / "checkpoint")
    metrics: dict[str, Any] = {
        "kind": spec.kind,
        "mode": spec.mode,
        "base_model": spec.base or "all-MiniLM-L6-v2",
        "tags": d.tags,
        "intents": d.intents,
        "config": cfg.to_dict(),
        "best_epoch": result.best_epoch,
        "steps": result.steps,
        "seconds": result.seconds,
        "shots_per_intent": spec.shots_per_intent,
        "data": {"train": len(d.train), "validation": len(d.validation), "test": len(d.test)},
        "history": [vars(r) for r in result.history],
        "test": test,
    }
    if spec.compare:
        metrics["comparison"] = compare(d, spec, cfg, test)
    plot_history(result.history, spec.out / "history.png")
    if spec.export:
        metrics["export"] = export(spec, checkpoint, d, metrics, preds.tag_logits, enc)
    for key in ("_spans", "_logits", "_enc"):
        test.pop(key)
    write_json(spec.out / "metrics.json", metrics)
    write_report(spec.out, metrics)
    return metrics


def _summary(test: dict[str, Any]) -> dict[str, Any]:
    """The headline figures that go into the manifest."""
    out = {
        "split": test["split"],
        "entity_micro_f1": test["entities"]["micro"]["f1"],
        "entity_macro_f1": test["entities"]["macro"]["f1"],
    }
    if "snips_tagger_only" in test:
        out["mean_slot_f1_gold_intent"] = test["snips_tagger_only"]["mean_slot_f1"]
    return out


def headline(scores: dict[str, Any]) -> dict[str, Any]:
    """Entity micro-F1 and the SNIPS metric variants (gold intents) of one set of predictions."""
    plain = scores.get("snips_tagger_only", {})
    return {
        "entity_micro_f1": scores["entities"]["micro"]["f1"],
        "mean_slot_f1_gold_intent": plain.get("mean_slot_f1"),
        "mean_slot_f1_gold_pairs": plain.get("mean_slot_f1_gold_pairs"),
        "constrained_mean_slot_f1_gold_pairs": scores.get("snips_constrained_gold_intent", {}).get(
            "mean_slot_f1_gold_pairs"
        ),
    }


def export(
    spec: TaggerSpec,
    checkpoint: Path,
    d: Data,
    metrics: dict[str, Any],
    logits: list[np.ndarray],
    enc: TaggedEncoded,
) -> dict[str, Any]:
    """Export the tagging head's model, then score the fp32 and the shipped graph on the test rows."""
    from .export import export_tagger, onnx_logits

    manifest = ModelManifest(
        kind=spec.kind,
        task="token-classification",
        labels=d.tags,
        base_model=metrics["base_model"],
        max_length=metrics["config"]["max_length"],
        metrics=_summary(metrics["test"]),
        training=metrics["config"],
    )
    out = spec.model_dir or spec.out / "model"
    fp32_dir = spec.out / "model-fp32"
    written = export_tagger(
        checkpoint,
        out,
        manifest,
        reference_logits=logits,
        texts=[e.text for e in d.test],
        quantize=spec.quantize,
        opset=spec.opset,
        keep_fp32=fp32_dir,
    )
    scores = {}
    for name, directory in (("fp32", fp32_dir), (written.precision, out)):
        found = logit_scores(d, enc, onnx_logits(directory, [e.text for e in d.test]), None)
        scores[name] = headline(found)
    return {
        "model_dir": str(out),
        "precision": written.precision,
        "onnx_scores": scores,
        "parity": written.parity.model_dump() if written.parity else None,
    }
