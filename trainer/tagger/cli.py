"""`interplay train tagger`: fine-tune an entity (slot) tagger from span JSONL or CoNLL BIO files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..classifier.cli import _models_dir

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("tagger")
@click.option(
    "--train",
    "train_file",
    type=_FILE,
    required=True,
    help="JSONL (text, entities with start/end/label, optional intent) or CoNLL BIO file.",
)
@click.option("--validation", type=_FILE, help="Validation file (default: 10% of --train held out).")
@click.option("--test", type=_FILE, help="Test file for the final report (default: the validation set).")
@click.option("--base", default=None, help="Encoder: local directory or hub id [default: all-MiniLM-L6-v2].")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory for reports.")
@click.option("--model-dir", type=click.Path(path_type=Path), help="Where to export [default: <out>/model].")
@click.option("--install", is_flag=True, help="Export into <models_dir>/entities, where the plugin looks.")
@click.option("--joint", is_flag=True, help="One encoder with a tagging head and an intent head.")
@click.option(
    "--compare", is_flag=True, help="Also train the other arrangement and compare joint vs separate."
)
@click.option("--intent-weight", default=1.0, show_default=True, help="Joint: weight of the intent loss.")
@click.option("--shots-per-intent", type=int, help="Train on N random rows per intent (low-data runs).")
@click.option("--max-validation", type=int, help="Use at most N held-out validation rows.")
@click.option("--epochs", default=3, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", default=5e-5, show_default=True)
@click.option("--weight-decay", default=0.01, show_default=True)
@click.option("--warmup-ratio", default=0.1, show_default=True)
@click.option("--max-length", default=48, show_default=True)
@click.option(
    "--patience", default=2, show_default=True, help="Early stopping on validation entity F1; 0 = off."
)
@click.option("--seed", default=42, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--max-steps", type=int, help="Stop after this many optimizer steps.")
@click.option("--freeze-layers", default=0, show_default=True, help="Freeze embeddings + lowest N layers.")
@click.option("--no-export", is_flag=True, help="Train and report only.")
@click.option("--no-quantize", is_flag=True, help="Export fp32 instead of int8.")
def tagger_command(**opts: Any) -> None:
    """Train an entity tagger, report on it (seqeval, SNIPS per-slot F1) and export it."""
    from ..classifier.config import TrainConfig
    from .run import TaggerSpec, train_tagger

    model_dir = opts["model_dir"]
    if opts["install"]:
        models_dir = _models_dir()
        if models_dir is None:
            raise click.UsageError("--install needs the interplay config; use --model-dir instead")
        model_dir = models_dir / "entities"
    spec = TaggerSpec(
        train=opts["train_file"],
        out=opts["out"],
        validation=opts["validation"],
        test=opts["test"],
        base=opts["base"],
        mode="joint" if opts["joint"] else "tags",
        compare=opts["compare"],
        intent_weight=opts["intent_weight"],
        shots_per_intent=opts["shots_per_intent"],
        max_validation=opts["max_validation"],
        export=not opts["no_export"],
        quantize=not opts["no_quantize"],
        model_dir=model_dir,
    )
    keys = (
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "warmup_ratio",
        "max_length",
        "patience",
        "seed",
        "device",
        "max_steps",
        "freeze_layers",
    )
    metrics = train_tagger(spec, TrainConfig(**{k: opts[k] for k in keys}))
    click.echo(summary_line(metrics, spec.out))


def summary_line(metrics: dict[str, Any], out: Path) -> str:
    """One line with the headline figures and where the report is."""
    test = metrics["test"]
    line = f"{test['split']} entity micro-F1 {100 * test['entities']['micro']['f1']:.2f}"
    if "snips_tagger_only" in test:
        line += f", mean per-slot F1 {100 * test['snips_tagger_only']['mean_slot_f1']:.2f}"
    if "intent_accuracy" in test:
        line += f", intent accuracy {100 * test['intent_accuracy']:.2f}"
    if "export" in metrics:
        line += f"; model: {metrics['export']['model_dir']} ({metrics['export']['precision']})"
    return line + f"; report: {out / 'report.md'}"
