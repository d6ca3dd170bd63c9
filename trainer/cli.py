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
    """Prepare, list and roll back model directories."""


@click.group()
def train() -> None:
    """Fine-tune models from data files or from the conversation logs."""


@models.command()
@click.option("--only", type=click.Choice(["generator", "intent", "sentiment"]), multiple=True,
              help="Prepare only these models (default: all that are missing).")
@click.option("--force", is_flag=True, help="Rebuild even if a valid model directory exists.")
@click.pass_obj
def prepare(obj: Any, only: tuple[str, ...], force: bool) -> None:
    """Build the embedded default models (first run takes minutes; later runs are instant)."""
    from .prepare import prepare_all

    prepare_all(obj.config, only=set(only) or None, force=force)


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
