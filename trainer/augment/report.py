"""Reports: one augmentation run (per round) and the `--compare` table, as markdown and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .pipeline import ARM_TITLES


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Generated rows as a `text,label` CSV that `interplay train classifier --augmented` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def _n(x: int | None) -> str:
    return "–" if x is None else str(x)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def rounds_markdown(result: dict[str, Any]) -> str:
    """Acceptance per round, the filters' yields, the discriminator's AUC and example outputs."""
    lines = [
        "| round | proposed | usable | new | passed D | passed label | accepted | acceptance | D AUC | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rounds"]:
        auc = (r["discriminator"] or {}).get("auc")
        lines.append(
            f"| {r['round']} | {r['proposed']} | {r['usable']} | {r['new']} "
            f"| {_n(r['passed_discriminator'])} "
            f"| {_n(r['passed_label_check'])} | {r['accepted']} | {_pct(r['acceptance_rate'])} "
            f"| {'–' if auc is None else f'{auc:.3f}'} | {r['seconds']:.0f} |"
        )
    per_label = result["per_label"]
    if per_label:
        counts = sorted(per_label.values())
        lines += [
            "",
            f"Accepted {result['accepted']} samples for {len(per_label)} labels "
            f"(per label: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]}).",
        ]
    for r in result["rounds"]:
        lines += ["", f"Round {r['round']} examples:"]
        lines += [
            f"- accepted `{e['label']}` (T={e['temperature']:g}, p_real={e.get('p_real', '–')}): {e['text']}"
            for e in r["accepted_examples"]
        ]
        lines += [
            f"- rejected `{e['label']}` (p_real={e.get('p_real', '–')}, classifier: "
            f"{e.get('classifier_label', '–')}): {e['text']}"
            for e in r["rejected_examples"]
        ]
    return "\n".join(lines) + "\n"


def compare_markdown(results: dict[str, Any]) -> str:
    """In-scope accuracy, mean ± std over seeds, one column per shots setting; then the deltas."""
    summary = results["summary"]
    shots = list(summary)
    keys = list(dict.fromkeys(k for s in shots for k in summary[s]["arms"]))
    lines = [
        "| arm | classifier | " + " | ".join(f"{s}-shot in-scope acc." for s in shots) + " |",
        "|---|---|" + "---|" * len(shots),
    ]
    for key in keys:
        arm, mode = key.split("+")
        cells = []
        for s in shots:
            row = summary[s]["arms"].get(key)
            cells.append(
                "–" if row is None else f"{100 * row['mean']:.2f} ± {100 * row['std']:.2f} (n={row['seeds']})"
            )
        title = "GAN-BERT" if mode == "gan" else "fine-tuning"
        lines.append(f"| {ARM_TITLES.get(arm, arm)} | {title} | " + " | ".join(cells) + " |")
    for s in shots:
        deltas = summary[s]["deltas"]
        if deltas:
            lines += ["", f"{s} shots, points of in-scope accuracy:"]
            lines += [f"- {k}: {v:+.2f}" for k, v in deltas.items()]
    timings = results.get("timings", {})
    if timings:
        lines += ["", "Wall time: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items())]
    return "\n".join(lines) + "\n"
