"""GAN-BERT lift on CLINC150 with few labels: plain fine-tuning vs GAN-BERT, same shots, several seeds.

Each seed draws `--shots` labeled examples per class (oos included); the rest of the training set is the
unlabeled pool (GAN only; `--max-unlabeled` subsamples it to fit a CPU budget). Validation is cut to
`--val-per-class` rows per class, as a few-shot setting would have. The figure of merit is in-scope
accuracy on the test set (argmax, no threshold). Writes bench/results/gan_lift.json.

    PYTHONPATH=$(trainer/experiments/snapshot.sh) nice .venv/bin/python trainer/experiments/gan_lift.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from interplay.trainer.classifier import splits
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.data import read_examples
from interplay.trainer.classifier.run import RunSpec, train_classifier
from interplay.trainer.classifier.tiny import write_csv


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/clinc150"))
    p.add_argument("--out", type=Path, default=Path("runs/gan_lift"))
    p.add_argument("--results", type=Path, default=Path("bench/results/gan_lift.json"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--shots", type=int, default=5)
    p.add_argument("--max-unlabeled", type=int, default=1500)
    p.add_argument("--val-per-class", type=int, default=5)
    p.add_argument("--plain-epochs", type=int, default=10)
    p.add_argument("--gan-epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--head-lr", type=float, default=None, help="classifier head (GAN: discriminator head)")
    p.add_argument("--generator-lr", type=float, default=None, help="default: --head-lr, else --lr")
    p.add_argument("--base", default=None)
    p.add_argument("--modes", nargs="+", choices=["plain", "gan"], default=["plain", "gan"])
    p.add_argument("--max-steps", type=int, default=None, help="smoke runs only")
    return p.parse_args()


def in_scope(metrics: dict) -> float:
    return metrics["oos"]["oos_class"]["in_scope_accuracy"]


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    val_rows = splits.subsample(read_examples(args.data / "validation.csv"), args.val_per_class, seed=0)
    val_file = write_csv(args.out / "validation_small.csv", [(e.text, str(e.label)) for e in val_rows])
    base_cfg = TrainConfig(
        lr=args.lr,
        head_lr=args.head_lr,
        generator_lr=args.generator_lr or args.head_lr,
        batch_size=32,
        max_length=32,
        patience=0,
        freeze_layers=1,
        max_unlabeled=args.max_unlabeled,
        max_steps=args.max_steps,
    )
    runs = []
    for seed in args.seeds:
        for mode in args.modes:
            spec = RunSpec(
                train=args.data / "train.csv",
                validation=val_file,
                test=args.data / "test.csv",
                base=args.base,
                out=args.out / f"{mode}-seed{seed}",
                shots_per_class=args.shots,
                export=False,
            )
            cfg = replace(
                base_cfg,
                seed=seed,
                gan=mode == "gan",
                epochs=args.gan_epochs if mode == "gan" else args.plain_epochs,
            )
            started = time.perf_counter()
            metrics = train_classifier(spec, cfg)
            runs.append(
                {
                    "seed": seed,
                    "mode": mode,
                    "in_scope_accuracy": in_scope(metrics),
                    "test_accuracy": metrics["test"]["accuracy"],
                    "labeled": metrics["data"]["labeled"],
                    "unlabeled_used": min(metrics["data"]["unlabeled"], args.max_unlabeled)
                    if mode == "gan"
                    else 0,
                    "steps": metrics["steps"],
                    "seconds": time.perf_counter() - started,
                }
            )
            print(json.dumps(runs[-1]), flush=True)
            write_results(args, runs)


def write_results(args: argparse.Namespace, runs: list[dict]) -> None:
    summary = {}
    for mode in ("plain", "gan"):
        scores = [r["in_scope_accuracy"] for r in runs if r["mode"] == mode]
        if scores:
            summary[mode] = {"mean": statistics.mean(scores), "seeds": len(scores)}
    if "plain" in summary and "gan" in summary:
        summary["lift_points"] = 100 * (summary["gan"]["mean"] - summary["plain"]["mean"])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    args.results.write_text(
        json.dumps({"settings": settings, "summary": summary, "runs": runs}, indent=2) + "\n"
    )
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
