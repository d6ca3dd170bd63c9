"""`interplay models ...` and `interplay train ...`, added to the CLI through register_commands."""

from __future__ import annotations

from typing import Any

import click
from interplay.core import hookimpl

from .augment.cli import augment_command
from .classifier.cli import classifier_command
from .tagger.cli import tagger_command


@click.group()
def models() -> None:
    """Prepare the default models, list model directories, roll a promoted version back."""


@click.group()
def train() -> None:
    """Fine-tune models from data files or from the conversation logs."""


@models.command()
@click.option("--only", type=click.Choice(["onnx", "intent", "sentiment", "generator"]), multiple=True,
              help="Prepare only these plugins' models (default: all that are missing; `generator` is "
              "the deprecated old name of `onnx`).")
@click.option("--force", is_flag=True, help="Rebuild even if a valid model directory exists.")
@click.option("--finetune", "--full", "finetune", is_flag=True, default=None,
              help="Intent/sentiment: fine-tune the encoder on all the data (slower, stronger) instead of "
              "the default frozen encoder + linear head (about a minute each).")
@click.pass_obj
def prepare(obj: Any, only: tuple[str, ...], force: bool, finetune: bool | None) -> None:
    """Build the embedded default models (first run takes minutes; later runs are instant)."""
    from interplay.core.logs import library_logs_to_file

    from .prepare import prepare_all

    config = obj.config
    log_file = config.models_dir / "prepare.log"
    # progress bars and results on the console; ONNX Runtime's and Optimum's INFO lines go to the file
    with library_logs_to_file(log_file, console_level=config.interplay.log_level):
        prepare_all(config, only=set(only) or None, force=force, finetune=finetune or None)
    click.echo(f"details: {log_file}")


@models.command("list")
@click.pass_obj
def list_models(obj: Any) -> None:
    """Model directories under models_dir: version, precision, size, and which one is served (*)."""
    from .models_list import format_rows, model_rows

    config = obj.config
    rows = model_rows(config)
    if not rows:
        click.echo(f"no model directories in {config.models_dir}: run `interplay models prepare`")
        return
    for line in format_rows(rows, config.models_dir):
        click.echo(line)


# classifier.cli imports torch only inside the command, so `interplay --help` stays fast
train.add_command(classifier_command)
train.add_command(tagger_command)  # tagger.cli, too, imports torch only inside the command
train.add_command(augment_command)  # augment.cli, too


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .loop.cli import register as register_loop  # data export, train generator, rollback, loop

    register_loop(models, train, cli)
    cli.add_command(models)
    cli.add_command(train)
