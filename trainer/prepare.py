"""`interplay models prepare`: builds each embedded default model that is missing."""

from __future__ import annotations

from typing import Any

import click


def prepare_all(
    config: Any, *, only: set[str] | None = None, force: bool = False, finetune: bool | None = None
) -> None:
    """Prepare the default generator and NLU models into `config.models_dir` (NLU: embedding-head
    models, or fine-tuned on all the data with `finetune`)."""
    wanted = set(only or {"onnx", "intent", "sentiment"})
    if "generator" in wanted:  # the old name, from before plugin, table and model directory were all `onnx`
        click.echo("--only generator is deprecated: use --only onnx", err=True)
        wanted = (wanted - {"generator"}) | {"onnx"}
    if "onnx" in wanted:
        from .lm.prepare import prepare_generator

        click.echo(f"onnx: {prepare_generator(config, force=force)}")
    for kind in ("intent", "sentiment"):
        if kind in wanted:
            from .classifier.defaults import prepare_default_classifier

            click.echo(f"{kind}: {prepare_default_classifier(config, kind, force=force, full=finetune)}")
