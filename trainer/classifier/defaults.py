"""The embedded default models: intent on CLINC150 and sentiment on SST-2, trained on first run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from interplay.core import InterplayError, ModelError
from interplay.core.model_dir import read_manifest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FULL_ENV = "INTERPLAY_DEFAULTS_FULL"  # "1": train on all the data (slow on a CPU)


@dataclass(frozen=True)
class DefaultModel:
    """How one default model is trained: which embedded data, how much of it and for how long."""

    data: str
    oos_label: str | None
    per_class: int | None  # quick first run: at most this many training rows per class
    epochs: int
    lr: float
    max_length: int
    full_epochs: int


DEFAULTS = {
    # sized so both quick runs take minutes on 2 CPU cores (see trainer/experiments for full runs)
    "intent": DefaultModel(
        "clinc150", "oos", per_class=20, epochs=4, lr=1.5e-4, max_length=32, full_epochs=3
    ),
    "sentiment": DefaultModel("sst2", None, per_class=2000, epochs=2, lr=1e-4, max_length=64, full_epochs=1),
}


def data_file(name: str, split: str) -> Path:
    """An embedded data file (xz-compressed CSV)."""
    path = DATA_DIR / name / f"{split}.csv.xz"
    if not path.is_file():
        raise ModelError(f"the embedded data file {path} is missing: reinstall interplay")
    return path


def _has_model(directory: Path) -> bool:
    try:
        read_manifest(directory)
    except InterplayError:
        return False
    return True


def _configured_dir(config: Any, kind: str) -> Path | None:
    table = config.plugin_table(kind) if hasattr(config, "plugin_table") else {}
    value = table.get("model_dir")
    return Path(value).expanduser() if value else None


def prepare_default_classifier(
    config: Any, kind: str, *, force: bool = False, full: bool | None = None
) -> Path:
    """The model directory for `kind`: configured, already prepared, or trained now from embedded data."""
    if kind not in DEFAULTS:
        raise ModelError(f"no default classifier for {kind!r} (known: {', '.join(DEFAULTS)})")
    configured = _configured_dir(config, kind)
    if configured is not None:
        if not _has_model(configured):
            raise ModelError(
                f"[plugins.{kind}] model_dir = {configured} holds no valid model: train one with "
                f"`interplay train classifier --model-dir {configured}` or remove the setting"
            )
        return configured
    target = Path(config.models_dir) / kind
    if _has_model(target) and not force:
        return target
    full = os.environ.get(FULL_ENV) == "1" if full is None else full
    train_default(kind, target, Path(config.models_dir) / "runs" / f"{kind}-default", full=full)
    return target


def default_spec_and_config(kind: str, target: Path, run_dir: Path, *, full: bool) -> tuple[Any, Any]:
    """The RunSpec and TrainConfig of a default model (quick or full)."""
    from .config import TrainConfig
    from .run import RunSpec

    d = DEFAULTS[kind]
    spec = RunSpec(
        train=data_file(d.data, "train"),
        validation=data_file(d.data, "validation"),
        test=data_file(d.data, "test"),
        kind=kind,
        out=run_dir,
        model_dir=target,
        oos_label=d.oos_label,
        subsample_per_class=None if full else d.per_class,
        parity_examples=None if full else 1000,
    )
    cfg = TrainConfig(
        epochs=d.epochs, lr=d.lr, head_lr=2e-3, max_length=d.max_length, patience=0, freeze_layers=1
    )
    return spec, replace(cfg, epochs=d.full_epochs) if full else cfg


def train_default(kind: str, target: Path, run_dir: Path, *, full: bool = False) -> dict[str, Any]:
    """Train and export one default model, telling the person what is happening."""
    from .run import train_classifier

    spec, cfg = default_spec_and_config(kind, target, run_dir, full=full)
    size = "all the data" if full else f"at most {DEFAULTS[kind].per_class} examples per class"
    click.echo(
        f"{kind}: training the default model on embedded {DEFAULTS[kind].data} ({size}); "
        f"set {FULL_ENV}=1 for a full run"
    )
    started = time.perf_counter()
    metrics = train_classifier(spec, cfg)
    test = metrics["test"]
    click.echo(
        f"{kind}: {test['split']} accuracy {100 * test['accuracy']:.1f} in "
        f"{time.perf_counter() - started:.0f} s; report: {run_dir / 'report.md'}"
    )
    return metrics
