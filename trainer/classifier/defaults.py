"""The embedded default models: intent on CLINC150 and sentiment on SST-2, built on first run.

By default `models prepare` builds embedding-head models (frozen all-MiniLM-L6-v2, int8 ONNX, plus
a logistic-regression head) from all the training data: minutes on a CPU. `--finetune` (or
INTERPLAY_DEFAULTS_FULL=1) fine-tunes the encoder on all the data instead: slower, stronger.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import click
from interplay.core import InterplayError, ModelError
from interplay.core.model_dir import read_manifest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FULL_ENV = "INTERPLAY_DEFAULTS_FULL"  # "1": fine-tune on all the data (slow on a CPU)
Method = Literal["embedding-head", "finetune"]


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
    method: Method = "finetune"  # what `models prepare` builds without --finetune
    min_in_scope: float | None = None  # embedding head: validation in-scope floor of the oos threshold
    oos_score: str = "probability"  # embedding head: what that threshold applies to
    head_c: float = 1.0  # embedding head: inverse L2 strength of the logistic regression
    head: str = "linear"  # embedding head: "linear" (mean pooling + logistic regression) or "tokens"


DEFAULTS = {
    # the first run takes minutes on 2 CPU cores; docs/nlu.md has the measured figures.
    # intent: frozen encoder + linear head on all of CLINC150 (95% in-scope with it, as good as
    # fine-tuning on all the data and ten times faster). Sentiment: a frozen encoder tops out near
    # 82% on SST-2 (measured, every layer and pooling tried), so it is fine-tuned on part of the data.
    "intent": DefaultModel(
        "clinc150", "oos", per_class=20, epochs=4, lr=1.5e-4, max_length=32, full_epochs=3,
        method="embedding-head", min_in_scope=0.94, head_c=0.1,
    ),
    "sentiment": DefaultModel("sst2", None, per_class=6000, epochs=1, lr=1e-4, max_length=64, full_epochs=1),
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
    """The model directory for `kind`: configured, already prepared, or built now from embedded data
    (an embedding-head model; fine-tuned on all the data when `full`, or INTERPLAY_DEFAULTS_FULL=1)."""
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
    run_dir = Path(config.models_dir) / "runs" / f"{kind}-default"
    if full or DEFAULTS[kind].method == "finetune":
        train_default(kind, target, run_dir, full=full)
    else:
        build_default_head(kind, target, run_dir, encoder_cache=Path(config.models_dir) / "runs" / "encoder")
    return target


def default_head_spec(
    kind: str, target: Path, run_dir: Path, encoder_cache: Path | None = None
) -> tuple[Any, Any]:
    """The RunSpec and HeadConfig of a default embedding-head model (all the training data)."""
    from .embedding_run import HeadConfig
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
        min_in_scope=d.min_in_scope,
        oos_score=d.oos_score,  # type: ignore[arg-type]
    )
    return spec, HeadConfig(
        c=d.head_c,
        max_length=d.max_length,
        encoder_cache=encoder_cache,
        head="tokens" if d.head == "tokens" else "linear",
    )


def build_default_head(
    kind: str, target: Path, run_dir: Path, *, encoder_cache: Path | None = None
) -> dict[str, Any]:
    """Build one default embedding-head model, telling the person what is happening."""
    from .embedding_run import train_embedding_classifier

    spec, cfg = default_head_spec(kind, target, run_dir, encoder_cache)
    head = "a token head" if cfg.head == "tokens" else "a linear head"
    click.echo(
        f"{kind}: embedding all of the embedded {DEFAULTS[kind].data} with the frozen encoder and fitting "
        f"{head} (about a minute); `interplay models prepare --force --finetune` fine-tunes instead"
    )
    metrics = train_embedding_classifier(spec, cfg)
    click.echo(
        f"{kind}: {_headline(metrics)} in {metrics['seconds_total']:.0f} s; report: {run_dir / 'report.md'}"
    )
    return metrics


def _headline(metrics: dict[str, Any]) -> str:
    test = metrics["test"]
    line = f"{test['split']} accuracy {100 * test['accuracy']:.1f}"
    scores = (metrics.get("oos") or {}).get("threshold_method")
    if scores:
        line += (
            f" (with the oos threshold: in-scope {100 * scores['in_scope_accuracy']:.1f}, "
            f"oos recall {100 * scores['oos_recall']:.1f})"
        )
    return line


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
        min_in_scope=d.min_in_scope if full else None,  # the served default's oos rule
    )
    cfg = TrainConfig(
        epochs=d.epochs, lr=d.lr, head_lr=2e-3, max_length=d.max_length, patience=0, freeze_layers=1,
        length_buckets=True,
    )
    return spec, replace(cfg, epochs=d.full_epochs) if full else cfg


def train_default(kind: str, target: Path, run_dir: Path, *, full: bool = False) -> dict[str, Any]:
    """Train and export one default model, telling the person what is happening."""
    from .run import train_classifier

    spec, cfg = default_spec_and_config(kind, target, run_dir, full=full)
    size = "all the data" if full else f"at most {DEFAULTS[kind].per_class} examples per class"
    click.echo(f"{kind}: fine-tuning the default model on embedded {DEFAULTS[kind].data} ({size})")
    started = time.perf_counter()
    metrics = train_classifier(spec, cfg)
    click.echo(
        f"{kind}: {_headline(metrics)} in {time.perf_counter() - started:.0f} s; "
        f"report: {run_dir / 'report.md'}"
    )
    return metrics
