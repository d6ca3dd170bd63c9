"""`--compare`: every arm (none, LM, filtered, filtered + updates) x (plain, GAN-BERT), several seeds."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..classifier.config import TrainConfig
from ..classifier.data import Example
from ..classifier.run import RunSpec, Splits, load_splits, train_classifier
from .config import AugmentConfig
from .pipeline import ARMS, Models, arm_rows

MODES = ("plain", "gan")


@dataclass
class CompareSpec:
    """The data, the shots and seeds to run, and the training settings of each mode."""

    spec: RunSpec  # data files and out dir; shots_per_class is set per run
    shots: list[int]
    seeds: list[int]
    augment: AugmentConfig
    train: TrainConfig
    gan_train: TrainConfig
    arms: tuple[str, ...] = ARMS
    modes: tuple[str, ...] = MODES
    runs: list[dict[str, Any]] = field(default_factory=list)


def in_scope_accuracy(metrics: dict[str, Any]) -> float:
    """In-scope accuracy where there are oos rows (argmax with the oos class), else test accuracy."""
    oos = metrics.get("oos") or {}
    if "oos_class" in oos:
        return float(oos["oos_class"]["in_scope_accuracy"])
    return float(metrics["test"]["accuracy"])


def fixed_rows(rows: list[Example], expected: list[Example]) -> Callable[[Splits, int], list[Example]]:
    """RunSpec.augment hook that adds precomputed rows, after checking the split is the one they came from."""

    def hook(s: Splits, seed: int) -> list[Example]:
        if [e.text for e in s.labeled] != [e.text for e in expected]:
            raise RuntimeError("the labeled split changed between augmentation and training")
        return rows

    return hook


def run_compare(c: CompareSpec, models: Models, on_run: Callable[[dict], None] | None = None) -> dict:
    """Run every shots x seed x arm x mode; returns the results (summary, runs, timings)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    for shots in c.shots:
        shot_started = time.perf_counter()
        for seed in c.seeds:
            _one_seed(c, models, shots, seed, on_run)
        timings[f"{shots}_shots_seconds"] = time.perf_counter() - shot_started
    timings["total_seconds"] = time.perf_counter() - started
    return {"summary": summarize(c.runs, c.arms, c.modes), "runs": c.runs, "timings": timings}


def _one_seed(c: CompareSpec, models: Models, shots: int, seed: int, on_run: Callable | None) -> None:
    spec = replace(c.spec, shots_per_class=shots, export=False)
    s = load_splits(spec, seed)
    pool = [e.text for e in s.unlabeled]
    t0 = time.perf_counter()
    needs_lm = any(a != "none" for a in c.arms)
    rows, reports = (
        arm_rows(models, s.labeled, pool, replace(c.augment, seed=seed)) if needs_lm else ({"none": []}, {})
    )
    augment_seconds = time.perf_counter() - t0
    out = c.spec.out / f"{shots}shot-seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "augmentation.json").write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    for arm in c.arms:
        for mode in c.modes:
            cfg = replace(c.gan_train if mode == "gan" else c.train, seed=seed)
            run_spec = replace(spec, out=out / f"{arm}-{mode}", augment=fixed_rows(rows[arm], s.labeled))
            t1 = time.perf_counter()
            metrics = train_classifier(run_spec, cfg)
            run = {
                "shots": shots,
                "seed": seed,
                "arm": arm,
                "mode": mode,
                "in_scope_accuracy": in_scope_accuracy(metrics),
                "test_accuracy": metrics["test"]["accuracy"],
                "augmented": metrics["data"]["augmented"],
                "train_seconds": time.perf_counter() - t1,
                "augment_seconds_all_arms": augment_seconds,
            }
            c.runs.append(run)
            if on_run:
                on_run(run)


def summarize(runs: list[dict], arms: tuple[str, ...], modes: tuple[str, ...]) -> dict[str, Any]:
    """Mean and spread (population std) of in-scope accuracy per shots x arm x mode, and the deltas."""
    summary: dict[str, Any] = {}
    for shots in sorted({r["shots"] for r in runs}):
        table: dict[str, Any] = {}
        for arm in arms:
            for mode in modes:
                xs = [
                    r["in_scope_accuracy"]
                    for r in runs
                    if (r["shots"], r["arm"], r["mode"]) == (shots, arm, mode)
                ]
                if xs:
                    table[f"{arm}+{mode}"] = {
                        "mean": statistics.mean(xs),
                        "std": statistics.pstdev(xs),
                        "seeds": len(xs),
                    }
        summary[str(shots)] = {"arms": table, "deltas": _deltas(table)}
    return summary


def _deltas(table: dict[str, Any]) -> dict[str, float]:
    """Points the text-GAN arms gain over the baselines (the acceptance criteria's comparisons)."""

    def mean(key: str) -> float | None:
        return table[key]["mean"] if key in table else None

    out = {}
    for gan_arm in ("adversarial+gan", "adversarial+plain"):
        for base in ("lm+plain", "none+plain", "lm+gan", "none+gan"):
            a, b = mean(gan_arm), mean(base)
            if a is not None and b is not None:
                out[f"{gan_arm} - {base}"] = 100 * (a - b)
    return out
