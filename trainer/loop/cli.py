"""CLI for the learning loop: `data export`, `train generator`, `train nlu`, `models rollback`, `loop`.

Torch and the trainer modules are imported inside the commands, so `interplay --help` stays fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

T = TypeVar("T")
_DIR = click.Path(file_okay=False, path_type=Path)


def with_store(config: Any, work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the configured store, run `work(store)`, close it."""
    from interplay.core.app import open_store

    async def run() -> T:
        store = open_store(config)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


@click.group()
def data() -> None:
    """Training data from the conversation logs."""


@data.command("export")
@click.option("--out", type=_DIR, help="Datasets directory [default: <data_dir>/datasets].")
@click.pass_obj
def export_command(obj: Any, out: Path | None) -> None:
    """Write the next versioned dataset: redacted pairs, feedback, utterances, golden hold-out."""
    from interplay.trainer.datasets.export import export_dataset

    from .runner import datasets_root, export_options

    root = out or datasets_root(obj.config)
    path = with_store(obj.config, lambda store: export_dataset(store, root, export_options(obj.config)))
    click.echo(f"dataset: {path}")


@click.command("generator")
@click.option("--dataset", type=_DIR, help="Dataset directory [default: the newest export].")
@click.option("--method", type=click.Choice(["lora", "full"]), help="[default: [loop] method]")
@click.option("--epochs", type=int)
@click.option("--max-steps", type=int)
@click.option("--lr", "learning_rate", type=float)
@click.option("--threads", type=int, help="torch CPU threads.")
@click.option("--promote/--no-promote", default=True, show_default=True, help="Promote if the gate passes.")
@click.pass_obj
def train_generator_command(obj: Any, dataset: Path | None, promote: bool, **overrides: Any) -> None:
    """Fine-tune the chat model on a dataset, export ONNX variants, gate it, and promote it."""
    from interplay.core import InterplayError
    from interplay.core.plugins import plugin_model_root
    from interplay.trainer.datasets.export import GOLDEN, latest

    from . import runner
    from .train import GENERATOR, TrainOptions, train_generator

    config = obj.config
    root_data = runner.datasets_root(config)
    dataset = dataset or latest(root_data)
    if dataset is None:
        raise InterplayError("no dataset yet: run `interplay data export` first")
    root = plugin_model_root(config, GENERATOR)
    version = train_generator(config, dataset, TrainOptions.from_config(config, **overrides), root=root)
    golden = root_data / GOLDEN
    if not (golden / "golden.jsonl").is_file():
        click.echo(f"model: {version} (no golden set yet, so no gate and no promotion)")
        return
    loop = config.loop
    report = runner.gate(config, version, root, golden)
    click.echo("\n".join(report.reasons))
    if report.passed and promote:
        runner.promote(root, version, dataset, loop.keep_versions)
        click.echo(f"promoted {version.name}: running bots take it up within {loop.watch_interval:g}s")
    else:
        click.echo(f"not promoted: {version} (see gate.md there)")


@click.command("nlu")
@click.option("--from-logs", is_flag=True, help="Use logged utterances as GAN-BERT's unlabeled data.")
@click.option("--kind", type=click.Choice(["intent", "sentiment"]), required=True)
@click.option("--dataset", type=_DIR, help="Dataset directory [default: the newest export].")
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labeled text,label file [default: the embedded data of the default model].")
@click.option("--golden", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Frozen labeled golden file for the gate [default: the default data's test split].")
@click.option("--golden-limit", default=1000, show_default=True)
@click.option("--max-accuracy-drop", default=0.0, show_default=True,
              help="How much lower than the served model's the candidate's golden accuracy may be.")
@click.option("--base", default=None, help="Encoder: local directory or hub id [default: all-MiniLM-L6-v2].")
@click.option("--max-steps", type=int)
@click.option("--promote/--no-promote", default=True, show_default=True)
@click.pass_obj
def train_nlu_command(obj: Any, from_logs: bool, kind: str, dataset: Path | None, train_file: Path | None,
                      golden: Path | None, golden_limit: int, max_accuracy_drop: float, base: str | None,
                      max_steps: int | None, promote: bool) -> None:
    """GAN-BERT retraining of intent or sentiment with the logs' utterances, gated and promoted."""
    from interplay.core import InterplayError
    from interplay.trainer.datasets.export import latest

    from .nlu import NluJob, retrain_nlu
    from .runner import datasets_root

    if not from_logs:
        raise click.UsageError("only --from-logs is supported; for files use `interplay train classifier`")
    dataset = dataset or latest(datasets_root(obj.config))
    if dataset is None:
        raise InterplayError("no dataset yet: run `interplay data export` first")
    job = NluJob(kind, dataset / "unlabeled.csv", train_file, golden, golden_limit,
                 max_accuracy_drop=max_accuracy_drop, max_steps=max_steps, base=base)
    version, report = retrain_nlu(obj.config, job, promote=promote)
    click.echo("\n".join(report.reasons))
    click.echo(f"{'promoted' if report.passed and promote else 'not promoted'}: {version}")


@click.command("rollback")
@click.option("--plugin", default="onnx", show_default=True, help="Which model plugin.")
@click.pass_obj
def rollback_command(obj: Any, plugin: str) -> None:
    """Serve the previously promoted model version again (running bots swap back)."""
    from interplay.core import model_registry as registry
    from interplay.core.plugins import plugin_model_root

    entry = registry.rollback(plugin_model_root(obj.config, plugin))
    click.echo(f"{plugin}: now serving {entry['id'] if entry else 'the configured model'}")


@click.command("loop")
@click.option("--once", is_flag=True, help="Check once (and run one iteration if due), then exit.")
@click.option("--force", is_flag=True, help="Run an iteration now, however little new feedback there is.")
@click.pass_obj
def loop_command(obj: Any, once: bool, force: bool) -> None:
    """Export -> train -> gate -> promote whenever [loop] min_new_feedback new items have arrived."""
    from .runner import loop_forever

    with_store(obj.config, lambda store: loop_forever(obj.config, store, once=once, force=force,
                                                      echo=click.echo))


def register(models: click.Group, train: click.Group, cli: click.Group) -> None:
    """Add the loop's commands to the `models` and `train` groups and the top level."""
    train.add_command(train_generator_command)
    train.add_command(train_nlu_command)
    models.add_command(rollback_command)
    cli.add_command(data)
    cli.add_command(loop_command)
