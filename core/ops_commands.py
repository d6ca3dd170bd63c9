"""The `interplay doctor` and `interplay new-plugin` commands (their work is in doctor.py, scaffold.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


@click.command()
@click.pass_obj
def doctor(obj: Any) -> None:
    """Check Python, dependencies, ONNX Runtime providers, models, tokens and ports; say what to fix."""
    from .doctor import report, run_checks

    lines, healthy = report(run_checks(obj.config))
    for line in lines:
        color = "red" if line.startswith("FAIL") else "yellow" if line.startswith("warn") else None
        click.secho(line, fg=color)
    sys.exit(0 if healthy else 1)


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["analyzer", "skill", "channel", "generator"]),
    default="analyzer",
    show_default=True,
    help="what the plugin registers",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to create it (default: ./NAME)",
)
def new_plugin(name: str, kind: str, directory: Path | None) -> None:
    """Create a plugin package NAME that passes its own tests: `cd NAME && pip install -e . && pytest`."""
    from .scaffold import scaffold

    target = directory or Path(name)
    created = scaffold(name, kind, target)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nnext: cd {target} && pip install -e . && pytest")
