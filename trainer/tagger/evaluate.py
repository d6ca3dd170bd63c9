"""Predictions of a tagging model and their scores: seqeval entity report and the SNIPS per-slot F1."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from interplay.plugins.entities import Span, decode, word_tags, words
from interplay.plugins.nlu import softmax

from ..classifier.batches import ordered_batches
from .data import TaggedExample
from .model import TaggedEncoded, collate_tagged


@dataclass
class Predictions:
    """Per-text token logits (tokens × tags) and, for a joint model, intent logits (texts × intents)."""

    tag_logits: list[np.ndarray]
    intent_logits: np.ndarray | None


@torch.no_grad()
def predict(
    model: Any, enc: TaggedEncoded, *, batch_size: int, pad_id: int, device: torch.device
) -> Predictions:
    """Logits for every row of `enc`, in the original order."""
    model.eval()
    tags: list[np.ndarray] = [np.zeros(0)] * len(enc)
    intents: np.ndarray | None = None
    for rows in ordered_batches(enc, batch_size):  # type: ignore[arg-type]  # needs only .ids and len()
        batch = collate_tagged(enc, rows, pad_id, device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            tag_logits, intent_logits = model(batch["input_ids"], batch["attention_mask"])
        tag_np = tag_logits.float().cpu().numpy()
        for r, i in enumerate(rows):
            tags[i] = tag_np[r, : len(enc.ids[i])]
        if intent_logits is not None:
            if intents is None:
                intents = np.zeros((len(enc), intent_logits.shape[-1]), dtype=np.float32)
            intents[rows] = intent_logits.float().cpu().numpy()
    return Predictions(tags, intents)


def predicted_spans(enc: TaggedEncoded, tag_logits: list[np.ndarray], tags: list[str]) -> list[list[Span]]:
    """Character spans decoded from token logits, exactly as the runtime plugin decodes them."""
    return [
        decode(softmax(lg.astype(np.float64)), enc.word_ids[i], enc.offsets[i], tags)
        for i, lg in enumerate(tag_logits)
    ]


def allowed_tags(rows: list[TaggedExample], tags: list[str]) -> dict[str, np.ndarray]:
    """Per intent, which tags its training rows use (O always): the slot set of each intent."""
    slots: dict[str, set[str]] = defaultdict(set)
    for e in rows:
        slots[str(e.intent)].update(s.label for s in e.spans)
    return {intent: np.array([t == "O" or t[2:] in names for t in tags]) for intent, names in slots.items()}


def constrained_spans(
    enc: TaggedEncoded,
    tag_logits: list[np.ndarray],
    tags: list[str],
    intents: list[str],
    allowed: dict[str, np.ndarray],
) -> list[list[Span]]:
    """Spans decoded with each text's tags limited to its intent's slots (as a per-intent slot filler)."""
    return [
        decode(softmax(lg.astype(np.float64)), enc.word_ids[i], enc.offsets[i], tags, allowed.get(intents[i]))
        for i, lg in enumerate(tag_logits)
    ]


def word_sequences(
    enc: TaggedEncoded, rows: list[TaggedExample], spans: list[list[Span]]
) -> tuple[list, list]:
    """(gold, predicted) BIO tag sequences over the words each text was tokenized into."""
    gold, pred = [], []
    for i, example in enumerate(rows):
        ws = words(enc.word_ids[i], enc.offsets[i])
        gold.append(word_tags(example.spans, ws))
        pred.append(word_tags(spans[i], ws))
    return gold, pred


def entity_report(gold: list[list[str]], pred: list[list[str]]) -> dict[str, Any]:
    """seqeval's entity-level precision, recall and F1: per type, micro and macro."""
    from seqeval.metrics import classification_report

    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    per_type = {k: _clean(v) for k, v in report.items() if not k.endswith(" avg")}
    return {"micro": _clean(report["micro avg"]), "macro": _clean(report["macro avg"]), "per_type": per_type}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "precision": float(row["precision"]),
        "recall": float(row["recall"]),
        "f1": float(row["f1-score"]),
        "support": int(row["support"]),
    }


def _f1(tp: int, fp: int, fn: int) -> float:
    # as the benchmark's metrics code: F1 is 0 unless there is at least one true positive
    if tp == 0:
        return 0.0
    p, r = tp / (tp + fp), tp / (tp + fn)
    return 2 * p * r / (p + r)


def snips_slot_metrics(
    rows: list[TaggedExample], spans: list[list[Span]], intents: list[str | None] | None = None
) -> dict[str, Any]:
    """The SNIPS benchmark's mean per-slot F1 over (intent, slot) pairs, computed as snips-nlu-metrics does.

    `mean_slot_f1` averages every pair seen in gold or predictions (the metrics code, where a slot
    name predicted under an intent that never has it adds a pair with F1 0); `mean_slot_f1_gold_pairs`
    averages only the pairs present in the gold data (53 on the SNIPS test set, as the issue counts
    them). A slot matches when a predicted slot of the same name has the same raw text. Utterances
    whose intent is mispredicted count no slots (the benchmark's rule). Without `intents` (a tagger
    alone) the gold intent stands in for the prediction.
    """
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for k, (example, found) in enumerate(zip(rows, spans, strict=True)):
        gold_intent = str(example.intent)
        predicted_intent = intents[k] if intents is not None else gold_intent
        gold = [(s.label, s.text(example.text)) for s in example.spans]
        guess = [(s.label, s.text(example.text)) for s in found]
        for label, _ in gold:
            counts[(gold_intent, label)]
        for label, _ in guess:
            counts[(str(predicted_intent), label)]
        if predicted_intent != gold_intent:
            continue
        for slot in gold:
            counts[(gold_intent, slot[0])][0 if slot in guess else 2] += 1
        for slot in guess:
            if slot not in gold:
                counts[(gold_intent, slot[0])][1] += 1
    pairs = {
        f"{i}/{s}": {"tp": c[0], "fp": c[1], "fn": c[2], "f1": _f1(*c)}
        for (i, s), c in sorted(counts.items())
    }
    mean = float(np.mean([p["f1"] for p in pairs.values()])) if pairs else 0.0
    gold_pairs = {f"{e.intent}/{s.label}" for e in rows for s in e.spans}
    in_gold = [p["f1"] for name, p in pairs.items() if name in gold_pairs]
    return {
        "mean_slot_f1": mean,
        "pairs": len(pairs),
        "mean_slot_f1_gold_pairs": float(np.mean(in_gold)) if in_gold else 0.0,
        "gold_pairs": len(in_gold),
        "per_pair": pairs,
        "intent_source": "predicted" if intents is not None else "gold",
    }


def intent_accuracy(rows: list[TaggedExample], predicted: list[str]) -> float:
    """Share of rows whose predicted intent is the gold one."""
    return float(np.mean([e.intent == p for e, p in zip(rows, predicted, strict=True)])) if rows else 0.0
