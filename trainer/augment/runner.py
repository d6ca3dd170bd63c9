"""What `interplay train augment` does with its options (kept apart so the CLI imports nothing heavy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interplay.core import InterplayError

from ..classifier.config import TrainConfig
from ..classifier.run import RunSpec, load_splits
from .compare import CompareSpec, run_compare
from .config import AugmentConfig
from .hook import write_report
from .pipeline import augment, build_models
from .report import compare_markdown, write_json


def augment_config(opts: dict[str, Any]) -> AugmentConfig:
    """AugmentConfig from the CLI options."""
    return AugmentConfig(
        rounds=opts["rounds"],
        per_label=opts["per_label"],
        temperatures=opts["temperatures"],
        threshold=opts["threshold"],
        max_per_label=opts["max_per_label"],
        filter=not opts["no_filter"],
        check_label=not opts["no_label_check"],
        generator_updates=opts["generator_updates"] and not opts["no_filter"],
        generator_steps=opts["generator_steps"],
        generator_lr=opts["generator_lr"],
        max_new_tokens=opts["max_new_tokens"],
        batch_size=opts["batch_size"],
        seed=opts["seed"],
    )


def _spec(opts: dict[str, Any]) -> RunSpec:
    return RunSpec(
        train=opts["train_file"],
        out=Path(opts["out"]),
        validation=opts["validation"],
        test=opts["test"],
        unlabeled=opts["unlabeled"],
        base=opts["base"],
        shots_per_class=opts.get("shots_per_class"),
        export=False,
    )


def run_augment(opts: dict[str, Any]) -> str:
    """One augmentation of the (few-shot) training set; returns the summary line."""
    cfg = augment_config(opts)
    spec = _spec(opts)
    s = load_splits(spec, cfg.seed)
    models = build_models(opts["generator"], opts["base"])
    result = augment(models, s.labeled, [e.text for e in s.unlabeled], cfg)
    write_report(spec.out, result.to_dict(), [(c.text, c.label) for c in result.accepted], cfg)
    proposed = sum(r.proposed for r in result.rounds)
    return (
        f"accepted {len(result.accepted)} of {proposed} proposals over {len(result.rounds)} rounds "
        f"for {len(result.per_label())} labels; rows: {spec.out / 'augmented.csv'}; "
        f"report: {spec.out / 'augment.md'}"
    )


def _ints(value: str, name: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise InterplayError(f"--{name} {value!r}: give comma-separated integers, e.g. 1,2,3") from None


def train_configs(opts: dict[str, Any]) -> tuple[TrainConfig, TrainConfig]:
    """Fine-tuning and GAN-BERT settings for --compare (those of the CLINC150 few-shot experiment)."""
    plain = TrainConfig(
        epochs=opts["epochs"],
        lr=opts["lr"],
        head_lr=opts["head_lr"],
        batch_size=32,
        max_length=32,
        patience=0,
        freeze_layers=1,
        max_steps=opts["max_steps"],
        max_unlabeled=opts["max_unlabeled"],
        progress=False,
    )
    gan = TrainConfig(**{**plain.to_dict(), "epochs": opts["gan_epochs"], "gan": True})
    return plain, gan


def run_compare_command(opts: dict[str, Any]) -> str:
    """--compare: every arm, shots and seed; writes compare.json and compare.md; returns the table."""
    plain, gan = train_configs(opts)
    spec = CompareSpec(
        spec=_spec(opts),
        shots=_ints(opts["shots"], "shots"),
        seeds=_ints(opts["seeds"], "seeds"),
        augment=augment_config(opts),
        train=plain,
        gan_train=gan,
    )
    models = build_models(opts["generator"], opts["base"])
    results = run_compare(spec, models)
    results["settings"] = {"augment": spec.augment.to_dict(), "train": plain.to_dict(), "gan": gan.to_dict()}
    write_json(spec.spec.out / "compare.json", results)
    table = compare_markdown(results)
    (spec.spec.out / "compare.md").write_text("# Augmentation comparison\n\n" + table, encoding="utf-8")
    return table
