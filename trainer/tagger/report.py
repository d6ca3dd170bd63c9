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
        "| arrangement | mean per-slot F1 (predicted intent) | mean per-slot F1 (gold intent) | "
        "entity micro-F1 | intent accuracy | training s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in comp.items():
        seconds = row["tagger"]["seconds"] + (row.get("intent_classifier") or {}).get("seconds", 0.0)
        lines.append(
            f"| {name} | {_pct(row['mean_slot_f1'])} | {_pct(row['mean_slot_f1_gold_intent'])} | "
            f"{_pct(row['entity_micro_f1'])} | {_pct(row['intent_accuracy'])} | {seconds:.0f} |"
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
        "| graph | entity micro-F1 | mean per-slot F1 (gold intent) |",
        "|---|---|---|",
    ]
    for name, s in exp["onnx_scores"].items():
        lines.append(
            f"| ONNX {name} | {_pct(s['entity_micro_f1'])} | {_pct(s['mean_slot_f1_gold_intent'])} |"
        )
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
    if "snips_tagger_only" in test:
        lines.append(
            f"- mean per-slot F1 over {test['snips_tagger_only']['pairs']} intent-slot pairs (SNIPS metric), "
            f"gold intent: **{_pct(test['snips_tagger_only']['mean_slot_f1'])}**"
        )
    if "snips" in test:
        lines.append(
            f"- the same with the model's own intents: **{_pct(test['snips']['mean_slot_f1'])}** "
            f"(intent accuracy {_pct(test['intent_accuracy'])})"
        )
    lines += ["", "## Entities", "", *_entity_table(test["entities"])]
    if metrics.get("comparison"):
        lines += _comparison(metrics["comparison"])
    if metrics.get("export"):
        lines += _export(metrics["export"])
    lines += ["", "![learning curves](history.png)", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
