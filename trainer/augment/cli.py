"""`interplay train augment`: generate, filter and report; `--compare` runs every arm with seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _floats(ctx: Any, param: Any, value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: give comma-separated numbers, e.g. 0.7,1.0,1.3") from None


@click.command("augment")
@click.option("--train", "train_file", type=_FILE, required=True, help="Labeled CSV/JSONL with text,label.")
@click.option("--validation", type=_FILE, help="Validation file (--compare; default: 10% of --train).")
@click.option("--test", type=_FILE, help="Test file for --compare (default: the validation set).")
@click.option("--unlabeled", type=_FILE, help="Real unlabeled texts: more 'real' rows for the discriminator.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Directory for rows and reports.")
@click.option("--generator", default=None, help="Chat model: .gguf, directory or hub id [default: SmolLM2].")
@click.option("--base", default=None, help="Encoder for the discriminator and classifier [default: MiniLM].")
@click.option("--shots-per-class", type=int, help="Keep N labeled examples per class (the rest unlabeled).")
@click.option("--seed", default=42, show_default=True)
@click.option("--rounds", default=3, show_default=True)
@click.option("--per-label", default=8, show_default=True, help="Candidates per label and temperature.")
@click.option("--temperatures", default="0.7,1.0,1.3", show_default=True, callback=_floats)
@click.option("--threshold", default=0.5, show_default=True, help="Discriminator P(real) to keep a sample.")
@click.option("--max-per-label", default=10, show_default=True, help="Accepted samples kept per label.")
@click.option("--no-filter", is_flag=True, help="Keep every new sample (the unfiltered LM baseline).")
@click.option("--no-label-check", is_flag=True, help="Do not require the classifier to agree on the label.")
@click.option(
    "--generator-updates/--no-generator-updates",
    default=True,
    show_default=True,
    help="Fine-tune the generator on accepted samples between rounds.",
)
@click.option("--generator-steps", default=8, show_default=True)
@click.option("--generator-lr", default=2e-5, show_default=True)
@click.option("--max-new-tokens", default=24, show_default=True)
@click.option("--batch-size", default=32, show_default=True, help="Sequences generated together.")
@click.option("--compare", is_flag=True, help="Run all arms x (fine-tuning, GAN-BERT) and write a table.")
@click.option("--shots", default="5", show_default=True, help="--compare: comma-separated shots per class.")
@click.option("--seeds", default="1,2,3", show_default=True, help="--compare: comma-separated seeds.")
@click.option("--epochs", default=8, show_default=True, help="--compare: fine-tuning epochs.")
@click.option("--gan-epochs", default=6, show_default=True, help="--compare: GAN-BERT epochs.")
@click.option("--lr", default=1e-4, show_default=True, help="--compare: encoder learning rate.")
@click.option("--head-lr", default=2e-3, show_default=True, help="--compare: learning rate of the new head.")
@click.option("--max-unlabeled", default=750, show_default=True, help="--compare: GAN-BERT unlabeled rows.")
@click.option("--max-steps", type=int, help="--compare: cap classifier optimizer steps (smoke runs).")
def augment_command(**opts: Any) -> None:
    """Propose utterances per label with the chat model, keep those a discriminator takes for real."""
    from .runner import run_augment, run_compare_command

    if opts["compare"]:
        click.echo(run_compare_command(opts))
    else:
        click.echo(run_augment(opts))
