"""GAN text augmentation on CLINC150 few-shot: every arm x (fine-tuning, GAN-BERT), several seeds.

Arms: no augmentation; unfiltered LM augmentation (SmolLM2 samples, deduplicated, same per-intent cap);
discriminator-filtered; filtered + generator updates (rejection-sampling adversarial training). Each is
trained with plain fine-tuning and with GAN-BERT (unlabeled pool: the rest of the training set). The
figure of merit is in-scope accuracy on the test set (argmax, oos class included), as in
trainer/experiments/gan_lift.py. Writes bench/results/augment.json (and .md) after every run.

    nice .venv/bin/python bench/augment.py          # acceptance run: 150 intents, 5 and 10 shots, 3 seeds
    nice .venv/bin/python bench/augment.py --quick  # 10 intents, 5 shots, 1 seed
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path

from interplay.trainer.augment.compare import CompareSpec, run_compare, summarize
from interplay.trainer.augment.config import AugmentConfig
from interplay.trainer.augment.pipeline import build_models
from interplay.trainer.augment.report import compare_markdown, write_json
from interplay.trainer.classifier import splits
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.data import Example, read_examples
from interplay.trainer.classifier.run import RunSpec
from interplay.trainer.classifier.tiny import write_csv


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/clinc150"))
    p.add_argument("--out", type=Path, default=Path("runs/augment_bench"))
    p.add_argument("--results", type=Path, default=Path("bench/results/augment.json"))
    p.add_argument("--quick", action="store_true", help="10 intents, 5 shots, 1 seed")
    p.add_argument("--intents", type=int, default=None, help="a random subset of N intents (+ oos)")
    p.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--per-label", type=int, default=2, help="candidates per intent and temperature")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.8, 1.2])
    p.add_argument("--max-per-label", type=int, default=10)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--generator-steps", type=int, default=8)
    p.add_argument("--val-per-class", type=int, default=5)
    p.add_argument("--test-oos", type=int, default=200, help="oos test rows kept (in-scope rows: all)")
    p.add_argument("--max-unlabeled", type=int, default=750)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--gan-epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--head-lr", type=float, default=2e-3, help="the new head, as in gan_lift.py")
    p.add_argument("--arms", nargs="+", default=["none", "lm", "filtered", "adversarial"])
    p.add_argument("--modes", nargs="+", default=["plain", "gan"])
    p.add_argument("--max-steps", type=int, default=None, help="smoke runs only")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="only combine these results files (runs made with the same settings)",
    )
    args = p.parse_args()
    if args.quick:
        args.intents, args.shots, args.seeds = args.intents or 10, [5], [1]
    return args


def subset_files(args: argparse.Namespace) -> dict[str, Path]:
    """train/validation/test CSVs limited to the chosen intents (+ oos); validation cut per class."""
    train = read_examples(args.data / "train.csv")
    intents = sorted({str(e.label) for e in train} - {"oos"})
    if args.intents:
        intents = sorted(random.Random(0).sample(intents, args.intents))
    keep = {*intents, "oos"}

    def only(rows: list[Example]) -> list[Example]:
        return [e for e in rows if e.label in keep]

    val = splits.subsample(only(read_examples(args.data / "validation.csv")), args.val_per_class, seed=0)
    test = only(read_examples(args.data / "test.csv"))
    oos = [e for e in test if e.label == "oos"]
    test = [e for e in test if e.label != "oos"] + random.Random(0).sample(oos, min(args.test_oos, len(oos)))
    args.out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, rows in (("train", only(train)), ("validation", val), ("test", test)):
        files[name] = write_csv(args.out / f"{name}.csv", [(e.text, str(e.label)) for e in rows])
    args.intent_list = intents
    return files


def configs(args: argparse.Namespace) -> tuple[AugmentConfig, TrainConfig, TrainConfig]:
    augment = AugmentConfig(
        rounds=args.rounds,
        per_label=args.per_label,
        temperatures=tuple(args.temperatures),
        max_per_label=args.max_per_label,
        threshold=args.threshold,
        generator_steps=args.generator_steps,
        progress=False,
    )
    plain = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        batch_size=32,
        max_length=32,
        patience=0,
        freeze_layers=1,
        max_unlabeled=args.max_unlabeled,
        max_steps=args.max_steps,
        progress=False,
    )
    return augment, plain, replace(plain, epochs=args.gan_epochs, gan=True)


def merge(args: argparse.Namespace) -> None:
    """One results file from runs made separately (e.g. one seed per process), summary recomputed."""
    parts = [json.loads(p.read_text()) for p in args.merge]
    runs = [r for part in parts for r in part["runs"]]
    arms = tuple(dict.fromkeys(r["arm"] for r in runs))
    modes = tuple(dict.fromkeys(r["mode"] for r in runs))
    results = {
        "summary": summarize(runs, arms, modes),
        "runs": runs,
        "merged_from": [
            {
                "file": str(p),
                "settings": part["settings"],
                "complete": part.get("complete"),
                "wall_seconds": part.get("wall_seconds"),
                "timings": part.get("timings"),
            }
            for p, part in zip(args.merge, parts, strict=True)
        ],
    }
    write_json(args.results, results)
    args.results.with_suffix(".md").write_text(compare_markdown(results), encoding="utf-8")
    print(compare_markdown(results))


def main() -> None:
    args = parse()
    if args.merge:
        return merge(args)
    import torch

    # on a busy machine OpenMP threads that wait for each other's time slices make generation 10x slower
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    files = subset_files(args)
    augment, plain, gan = configs(args)
    spec = CompareSpec(
        spec=RunSpec(train=files["train"], validation=files["validation"], test=files["test"], out=args.out),
        shots=args.shots,
        seeds=args.seeds,
        augment=augment,
        train=plain,
        gan_train=gan,
        arms=tuple(args.arms),
        modes=tuple(args.modes),
    )
    t0 = time.perf_counter()
    models = build_models(None, None)
    load_seconds = time.perf_counter() - t0

    def save(run: dict | None = None, final: dict | None = None) -> None:
        if run:
            print(json.dumps(run), flush=True)
        results = final or {"summary": summarize(spec.runs, spec.arms, spec.modes), "runs": spec.runs}
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        results = {
            **results,
            "settings": settings,
            "complete": final is not None,
            "model_load_seconds": load_seconds,
            "wall_seconds": time.perf_counter() - started,
        }
        write_json(args.results, results)
        args.results.with_suffix(".md").write_text(compare_markdown(results), encoding="utf-8")

    results = run_compare(spec, models, on_run=save)
    save(final=results)
    print(compare_markdown(results))


if __name__ == "__main__":
    main()
