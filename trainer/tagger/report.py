"""report.md for a tagger run: headline scores, the entity report, joint vs separate, export checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}" if isinstance(value, float) else "–" if value is None else str(value)


def _entity_table(entities: dict[str, Any]) -> list[str]:
    lines = ["| entity | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    rows = sorted(entities["per_type"].items(), key=lambda kv: kv[1]["f1"])
    rows += [("**micro**", entities["micro"]), ("**macro**", entities["macro"])]
    for name, m in rows:
        lines.append(
            f"| {name} | {_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['f1'])} | {m['support']} |"
        )
    return lines


def _comparison(comp: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Joint model vs separate models",
        "",
        "Separate: a tagger plus the classifier trainer's intent model (two encoders). Joint: one encoder "
        "with a tagging head and an intent head trained together. Same data, options and test rows.",
        "",
        "Mean per-slot F1 with the arrangement's own intents: over all pairs / over the gold pairs / "
        "over the gold pairs with tags limited to the predicted intent's slots.",
        "",
        "| arrangement | all pairs | gold pairs | gold pairs, constrained | entity micro-F1 | "
        "intent accuracy | training s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in comp.items():
        seconds = row["tagger"]["seconds"] + (row.get("intent_classifier") or {}).get("seconds", 0.0)
        lines.append(
            f"| {name} | {_pct(row['mean_slot_f1'])} | {_pct(row.get('mean_slot_f1_gold_pairs'))} | "
            f"{_pct(row.get('constrained_mean_slot_f1_gold_pairs'))} | {_pct(row['entity_micro_f1'])} | "
            f"{_pct(row['intent_accuracy'])} | {seconds:.0f} |"
        )
    return lines


def _export(exp: dict[str, Any]) -> list[str]:
    parity = exp.get("parity") or {}
    lines = [
        "",
        "## Export",
        "",
        f"Model directory `{exp['model_dir']}` ({exp['precision']}); parity with PyTorch "
        f"on {parity.get('examples')} test texts: "
        f"max |logit diff| {parity.get('max_abs_logit_diff', 0):.4f}, "
        f"word tag agreement {_pct(parity.get('label_agreement'))}, identical spans "
        f"{_pct(parity.get('span_agreement'))}.",
        "",
        "Mean per-slot F1 with gold intents: all pairs / gold pairs / gold pairs, constrained.",
        "",
        "| graph | entity micro-F1 | all pairs | gold pairs | gold pairs, constrained |",
        "|---|---|---|---|---|",
    ]
    for name, s in exp["onnx_scores"].items():
        lines.append(
            f"| ONNX {name} | {_pct(s['entity_micro_f1'])} | {_pct(s['mean_slot_f1_gold_intent'])} | "
            f"{_pct(s.get('mean_slot_f1_gold_pairs'))} | "
            f"{_pct(s.get('constrained_mean_slot_f1_gold_pairs'))} |"
        )
    return lines


def _snips_lines(test: dict[str, Any]) -> list[str]:
    """The SNIPS metric variants as bullet points."""
    lines = []
    for key, what in (
        ("snips_tagger_only", "gold intents"),
        ("snips_constrained_gold_intent", "gold intents, tags limited to the intent's slots"),
        ("snips", "the model's own intents"),
        ("snips_constrained", "the model's own intents, tags limited to that intent's slots"),
    ):
        if key in test:
            m = test[key]
            lines.append(
                f"- mean per-slot F1 ({what}): **{_pct(m['mean_slot_f1_gold_pairs'])}** over the "
                f"{m['gold_pairs']} gold intent-slot pairs; {_pct(m['mean_slot_f1'])} over all {m['pairs']} "
                "pairs (spurious slot names count as pairs with F1 0)"
            )
    if "intent_accuracy" in test:
        lines.append(f"- intent accuracy: {_pct(test['intent_accuracy'])}")
    return lines


def write_report(run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Write report.md next to metrics.json and the learning-curve plot."""
    test = metrics["test"]
    shots = f", {metrics['shots_per_intent']} per intent" if metrics.get("shots_per_intent") else ""
    lines = [
        f"# Entity tagger ({metrics['mode']})",
        "",
        f"Base encoder `{metrics['base_model']}`; {metrics['data']['train']} training rows{shots}; "
        f"best epoch "
        f"{metrics['best_epoch']} of {len(metrics['history'])}; {metrics['seconds']:.0f} s. Scores on the "
        f"{test['split']} split ({test['examples']} rows); entity scores by seqeval over words.",
        "",
    ]
    lines += _snips_lines(test)
    lines += ["", "## Entities", "", *_entity_table(test["entities"])]
    if metrics.get("comparison"):
        lines += _comparison(metrics["comparison"])
    if metrics.get("export"):
        lines += _export(metrics["export"])
    lines += ["", "![learning curves](history.png)", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
