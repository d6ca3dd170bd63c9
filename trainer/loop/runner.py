"""`interplay loop`: export -> train -> gate -> promote, whenever enough new feedback has arrived."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interplay.core import InterplayError
from interplay.core import model_registry as registry
from interplay.core.plugins import plugin_model_root
from interplay.core.store import ConversationStore
from interplay.plugins.onnx_generator import model_dir as layout
from interplay.trainer.datasets.export import GOLDEN, ExportOptions, export_dataset, latest

from .examples import system_prompt_of
from .gate import DegenerationCheck, GateReport, gate_generator
from .train import GENERATOR, TrainOptions, train_generator

log = logging.getLogger("interplay.trainer.loop")


@dataclass
class Iteration:
    """What one loop iteration did, with the time each phase took."""

    dataset: Path | None = None
    version: Path | None = None
    report: GateReport | None = None
    promoted: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: str = ""


def datasets_root(config: Any) -> Path:
    return Path(config.data_dir) / "datasets"


def export_options(config: Any) -> ExportOptions:
    return ExportOptions(min_weight=config.loop.min_weight, golden_fraction=config.loop.golden_fraction)


async def new_feedback(store: ConversationStore, root: Path) -> int:
    """Votes cast since the newest dataset was exported: distinct (reply, person) pairs.

    A person pressing 👍 under one reply a hundred times, or sending /good and a thanks for it,
    counts once: no single user can start a training run on their own by repeating themselves.
    """
    newest = latest(root)
    since = json.loads((newest / "dataset.json").read_text())["last_feedback_time"] if newest else 0.0
    return len({(f.reply_id, f.channel, f.user_id) for f in await store.feedback_for() if f.time > since})


def promote(root: Path, version: Path, dataset: Path | None, keep: int) -> dict[str, Any]:
    """Record `version` as the one to serve (the bot's watcher takes it up) and prune old ones."""
    manifest = layout.read_manifest(next(version / p for p in layout.PRECISIONS if (version / p).is_dir()))
    entry = {"id": version.name, "path": str(version.relative_to(root)), "base": manifest.get("base_model"),
             "dataset": dataset.name if dataset else None, "gate": "gate.json"}
    data = registry.promote(root, entry)
    prune(root, data, keep)
    return data


def prune(root: Path, data: dict[str, Any], keep: int) -> None:
    """Delete version directories neither served nor among the last `keep` promoted (rollback targets)."""
    wanted = {e["path"] for e in [data.get("current"), *data["history"][-keep:]] if e}
    for version in (root / registry.VERSIONS).glob("*"):
        hidden = version.name.startswith(".")  # a build in progress
        if version.is_dir() and not hidden and str(version.relative_to(root)) not in wanted:
            shutil.rmtree(version, ignore_errors=True)


def degeneration_check(config: Any, root: Path) -> DegenerationCheck:
    """Sample as the bot does (its `[plugins.onnx]` sampling), seeded, with the gate's token limit."""
    from interplay.plugins.onnx_generator import OnnxGeneratorSettings, SamplingParams

    known = OnnxGeneratorSettings.model_fields
    table = {k: v for k, v in config.plugin_table(GENERATOR).items() if k in known}
    s = OnnxGeneratorSettings.model_validate(table)
    params = SamplingParams(max_new_tokens=config.loop.gate_max_new_tokens, temperature=s.temperature,
                            top_p=s.top_p, top_k=s.top_k, repetition_penalty=s.repetition_penalty,
                            seed=1234)
    return DegenerationCheck(config.loop.gate_prompts, params, root, threads=s.threads)


def gate(config: Any, version: Path, root: Path, golden: Path) -> GateReport:
    """The gate for a trained version against the served one (and the starting model's degeneration)."""
    loop = config.loop
    return gate_generator(version, registry.current_path(root) or root, golden,
                          system_prompt=system_prompt_of(config),
                          precision=str(config.plugin_table(GENERATOR).get("precision", "auto")),
                          max_perplexity_increase=loop.max_perplexity_increase,
                          max_score_drop=loop.max_score_drop,
                          min_preference_confidence=loop.min_preference_confidence,
                          degeneration=degeneration_check(config, root))


async def run_iteration(config: Any, store: ConversationStore, options: TrainOptions | None = None, *,
                        loaded: tuple[Any, Any] | None = None) -> Iteration:
    """One pass: export a dataset, train, gate against the served model, promote if it passes."""
    result = Iteration()
    clock = time.perf_counter()
    options = options or TrainOptions.from_config(config)
    result.dataset = await export_dataset(store, datasets_root(config), export_options(config))
    result.seconds["export"] = time.perf_counter() - clock
    golden = datasets_root(config) / GOLDEN
    if not (golden / "golden.jsonl").is_file():
        result.skipped = "no golden set yet: the held-out conversations have too few rated replies"
        return result
    root = plugin_model_root(config, GENERATOR)
    clock = time.perf_counter()
    result.version = await asyncio.to_thread(train_generator, config, result.dataset, options, root=root,
                                             loaded=loaded)
    result.seconds["train"] = time.perf_counter() - clock
    training = json.loads((result.version / "training.json").read_text(encoding="utf-8"))
    result.seconds |= {f"train: {k}": v for k, v in training.get("seconds", {}).items()}
    clock = time.perf_counter()
    result.report = await asyncio.to_thread(gate, config, result.version, root, golden)
    result.seconds["gate"] = time.perf_counter() - clock
    if result.report.passed:
        clock = time.perf_counter()
        promote(root, result.version, result.dataset, config.loop.keep_versions)
        result.seconds["promote"] = time.perf_counter() - clock
        result.promoted = True
    return result


def describe(result: Iteration) -> str:
    """One line for people."""
    if result.skipped:
        return f"dataset {result.dataset}: {result.skipped}"
    verdict = "promoted" if result.promoted else "rejected by the gate (kept until the next promotion)"
    times = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    report = result.version / "gate.md" if result.version else "-"
    return f"{result.version}: {verdict}; {times}; report: {report}"


async def loop_forever(config: Any, store: ConversationStore, *, once: bool = False, force: bool = False,
                       echo: Any = print) -> None:
    """Check every `poll_interval` seconds; run an iteration past `min_new_feedback` new items."""
    while True:
        waiting = await new_feedback(store, datasets_root(config))
        if force or waiting >= config.loop.min_new_feedback:
            try:
                echo(describe(await run_iteration(config, store)))
            except InterplayError as exc:
                echo(f"error: {exc}")
            force = False
        else:
            echo(f"{waiting} new feedback items; waiting for {config.loop.min_new_feedback}")
        if once:
            return
        await asyncio.sleep(config.loop.poll_interval)
