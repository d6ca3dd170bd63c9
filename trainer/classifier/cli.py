"""`interplay train classifier`: fine-tune (or GAN-BERT) an intent or sentiment classifier from files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
# tuning options that, left out, are chosen from the data (trainer.classifier.recipe)
AUTO_FIELDS = ("epochs", "lr", "head_lr", "max_length", "patience")


def _models_dir() -> Path | None:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx else None
    config = getattr(obj, "config", None)
    return Path(config.models_dir) if config is not None else None


@click.command("classifier")
@click.option("--train", "train_file", type=_FILE, required=True, help="Labeled CSV/JSONL with text,label.")
@click.option("--validation", type=_FILE, help="Validation file (default: 10% of --train held out).")
@click.option("--test", type=_FILE, help="Test file for the final report (default: the validation set).")
@click.option("--unlabeled", type=_FILE, help="Extra unlabeled texts (column text), used by --gan.")
@click.option(
    "--kind", default="intent", show_default=True, help="What the model annotates (intent, sentiment)."
)
@click.option("--base", default=None, help="Encoder: local directory or hub id [default: all-MiniLM-L6-v2].")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory for reports.")
@click.option("--model-dir", type=click.Path(path_type=Path), help="Where to export [default: <out>/model].")
@click.option("--install", is_flag=True, help="Export into <models_dir>/<kind>, where the plugin looks.")
@click.option("--epochs", type=int, help="[default: about 2,000 steps' worth, 3 to 10, from the data size]")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", type=float, help="Learning rate of the encoder [default: 1e-4].")
@click.option("--head-lr", type=float, help="Learning rate of the new head [default: 2e-3].")
@click.option("--weight-decay", default=0.01, show_default=True)
@click.option("--warmup-ratio", default=0.1, show_default=True)
@click.option(
    "--max-length", type=int, help="[default: the training texts' 99th-percentile token length, 16-128]"
)
@click.option(
    "--patience", type=int, help="Early stopping on validation macro-F1; 0 = off [default: 2]."
)
@click.option(
    "--length-buckets/--no-length-buckets",
    default=True,
    show_default=True,
    help="Batch texts of similar length together (less padding, faster on a CPU).",
)
@click.option("--seed", default=42, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--max-steps", type=int, help="Stop after this many optimizer steps.")
@click.option("--freeze-layers", default=0, show_default=True, help="Freeze embeddings + lowest N layers.")
@click.option(
    "--frozen",
    is_flag=True,
    help="Keep the encoder frozen and fit a linear head on its embeddings (minutes on a CPU; what "
    "`models prepare` builds for intent); the encoder is exported once, int8.",
)
@click.option("--head-c", default=0.1, show_default=True, help="--frozen: inverse L2 strength of the head.")
@click.option(
    "--frozen-head",
    type=click.Choice(["linear", "tokens"]),
    default="linear",
    show_default=True,
    help="--frozen: a linear head on mean-pooled embeddings, or a small MLP over the token states of "
    "the last two layers (what `models prepare` builds for sentiment; better where single words decide).",
)
@click.option("--gan", is_flag=True, help="GAN-BERT: learn from labeled and unlabeled data together.")
@click.option("--max-unlabeled", type=int, help="GAN: use at most this many unlabeled texts.")
@click.option("--shots-per-class", type=int, help="Keep N labeled examples per class; the rest unlabeled.")
@click.option("--label-fraction", type=float, help="Keep this fraction labeled; the rest unlabeled.")
@click.option("--subsample-per-class", type=int, help="Use at most N training examples per class.")
@click.option("--folds", type=int, help="K-fold cross-validation on --train (reports only, no export).")
@click.option("--oos-label", default="oos", show_default=True, help="The out-of-scope label ('' for none).")
@click.option(
    "--oos-class/--no-oos-class",
    default=True,
    show_default=True,
    help="Train out-of-scope rows as a class (else only the threshold rejects).",
)
@click.option("--threshold", type=float, help="Fixed confidence threshold (default: chosen on validation).")
@click.option(
    "--min-in-scope",
    type=click.FloatRange(0, 1),
    help="Choose the threshold that rejects the most while validation in-scope accuracy stays >= this "
    "(e.g. 0.955) [default: maximize (in-scope accuracy + oos recall) / 2].",
)
@click.option(
    "--oos-score",
    type=click.Choice(["probability", "energy"]),
    default="probability",
    show_default=True,
    help="What the threshold applies to: the best probability, or the energy score (log-sum-exp of "
    "the in-scope logits), which separates out-of-scope messages better on CLINC150 (docs/nlu.md).",
)
@click.option("--no-export", is_flag=True, help="Train and report only.")
@click.option("--no-quantize", is_flag=True, help="Export fp32 instead of int8.")
@click.option("--augment", is_flag=True, help="Add generated utterances a discriminator keeps.")
@click.option("--augmented", type=_FILE, help="Add generated text,label rows (from `train augment`).")
def classifier_command(**opts: Any) -> None:
    """Train an intent or sentiment classifier, report on it and export it to a model directory."""
    from .config import TrainConfig
    from .run import RunSpec, recipe_line, train_classifier

    model_dir = opts["model_dir"]
    if opts["install"]:
        models_dir = _models_dir()
        if models_dir is None:
            raise click.UsageError("--install needs the interplay config; use --model-dir instead")
        model_dir = models_dir / opts["kind"]
    spec = RunSpec(
        train=opts["train_file"],
        out=opts["out"],
        validation=opts["validation"],
        test=opts["test"],
        unlabeled=opts["unlabeled"],
        base=opts["base"],
        kind=opts["kind"],
        oos_label=opts["oos_label"] or None,
        oos_class=opts["oos_class"],
        threshold=opts["threshold"],
        min_in_scope=opts["min_in_scope"],
        oos_score=opts["oos_score"],
        shots_per_class=opts["shots_per_class"],
        label_fraction=opts["label_fraction"],
        subsample_per_class=opts["subsample_per_class"],
        folds=opts["folds"],
        export=not opts["no_export"],
        quantize=not opts["no_quantize"],
        model_dir=model_dir,
        augment=_augment_hook(opts),
        auto=tuple(k for k in AUTO_FIELDS if opts[k] is None),
    )
    if opts["frozen"]:
        from .embedding_run import HeadConfig, train_embedding_classifier

        head = HeadConfig(
            c=opts["head_c"], max_length=opts["max_length"], seed=opts["seed"], head=opts["frozen_head"]
        )
        click.echo(summary_line(train_embedding_classifier(spec, head), spec.out))
        return
    keys = (
        "epochs",
        "batch_size",
        "lr",
        "head_lr",
        "weight_decay",
        "warmup_ratio",
        "max_length",
        "patience",
        "seed",
        "device",
        "max_steps",
        "freeze_layers",
        "gan",
        "max_unlabeled",
        "length_buckets",
    )
    metrics = train_classifier(spec, TrainConfig(**{k: opts[k] for k in keys if opts[k] is not None}))
    if metrics.get("recipe"):
        click.echo(recipe_line(metrics["recipe"]))
    click.echo(summary_line(metrics, spec.out))


def _augment_hook(opts: dict[str, Any]) -> Any:
    """RunSpec.augment for --augment (generate now) or --augmented FILE (rows made earlier)."""
    from ..augment import hook

    if opts["augment"] and opts["augmented"]:
        raise click.UsageError("use either --augment or --augmented FILE, not both")
    if opts["augmented"]:
        return hook.from_file(opts["augmented"])
    if opts["augment"]:
        from ..augment.config import AugmentConfig

        return hook.inline(AugmentConfig(generator_updates=True), None, opts["base"], opts["out"] / "augment")
    return None


def summary_line(metrics: dict[str, Any], out: Path) -> str:
    """One line with the headline figures and where the report is."""
    if "folds" in metrics:
        return (
            f"{len(metrics['folds'])}-fold accuracy {100 * metrics['accuracy_mean']:.2f} "
            f"± {100 * metrics['accuracy_std']:.2f}; report: {out / 'metrics.json'}"
        )
    test = metrics["test"]
    line = f"{test['split']} accuracy {100 * test['accuracy']:.2f}, macro-F1 {100 * test['macro_f1']:.2f}"
    oos = metrics.get("oos") or {}
    if "threshold_method" in oos:
        s = oos["threshold_method"]
        line += (
            f"; with threshold {oos['threshold']:.3f}: in-scope {100 * s['in_scope_accuracy']:.2f}, "
            f"oos recall {100 * s['oos_recall']:.2f}"
        )
    if "export" in metrics:
        line += f"; model: {metrics['export']['model_dir']}"
    return line + f"; report: {out / 'report.md'}"
