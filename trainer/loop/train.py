"""`interplay train generator`: fine-tune the chat model on a dataset, export it like `models prepare`.

Every run starts from the base checkpoint the served generator was prepared from and trains on
the whole (cumulative) dataset, so versions do not drift by training on their own outputs
stacked up. The result is a new version directory `<generator root>/versions/<id>/` with the
same variants and manifests as `interplay models prepare` writes, plus `training.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from interplay.core import InterplayError, ModelError
from interplay.core import model_registry as registry
from interplay.plugins.onnx_generator import model_dir as layout

from .examples import TokenizedExample, load_rows, system_prompt_of, tokenize

log = logging.getLogger("interplay.trainer.loop")
GENERATOR = "onnx"


@dataclass(frozen=True)
class TrainOptions:
    """How to fine-tune; defaults come from `[loop]` in config.toml."""

    method: str = "lora"
    epochs: int = 2
    max_steps: int | None = None
    learning_rate: float = 2e-4
    batch_size: int = 8
    kto_weight: float = 0.5
    kto_beta: float = 0.1
    lora_rank: int = 16
    min_weight: float = 0.25
    variants: tuple[str, ...] = ("int8", "fp16")
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 = torch's default

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> TrainOptions:
        loop = config.loop
        keys = ("method", "epochs", "max_steps", "learning_rate", "batch_size", "kto_weight", "kto_beta",
                "lora_rank", "min_weight", "threads")
        values = {k: getattr(loop, k) for k in keys}
        values["variants"] = tuple(loop.variants)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class TrainingError(InterplayError):
    """Training cannot start: no data, no base checkpoint."""


def base_source(root: Path) -> Any:
    """The checkpoint the configured generator was prepared from (its manifest's `source`)."""
    from interplay.trainer.lm.source import ModelSource

    for candidate in (root, *(root / p for p in layout.PRECISIONS)):
        try:
            manifest = layout.read_manifest(candidate)
        except ModelError:
            continue
        src = manifest.get("source") or {}
        if src.get("kind") in ("gguf", "local", "hub"):
            return ModelSource(src["kind"], src["location"], src.get("gguf_file"), name=manifest["name"])
    raise TrainingError(f"no prepared generator in {root} says which checkpoint it came from: "
                        "run `interplay models prepare` first")


def _select(rows: list[dict[str, Any]], min_weight: float) -> list[dict[str, Any]]:
    """Rows with enough feedback weight, grouped by conversation (turn order kept within each).

    The export lists rows in message time order, which interleaves concurrent conversations
    however their replies happened to finish; grouping makes the training order (and so the
    seeded shuffle's batches) depend on the data only.
    """
    chosen = [r for r in rows if float(r["weight"]) >= min_weight]
    return sorted(chosen, key=lambda r: str(r.get("conversation_id", "")))


def fit(model: Any, examples: list[TokenizedExample], pad_id: int, options: TrainOptions) -> dict[str, Any]:
    """The optimisation loop; returns loss history and timing. `model` is trained in place."""
    import torch
    from tqdm import tqdm

    from .objective import batch_loss, collate, reference_logps

    reference = reference_logps(model, examples, pad_id, options.batch_size)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.0)
    order = list(range(len(examples)))
    rng = random.Random(options.seed)
    steps, history, started = 0, [], time.perf_counter()
    per_epoch = -(-len(order) // options.batch_size)
    total = min(options.max_steps or per_epoch * options.epochs, per_epoch * options.epochs)
    model.train()
    with tqdm(total=total, desc="train generator", unit="step") as bar:
        while steps < total:
            rng.shuffle(order)
            for start in range(0, len(order), options.batch_size):
                rows = order[start : start + options.batch_size]
                batch = collate([examples[i] for i in rows], pad_id)
                loss, parts = batch_loss(model, batch, reference[rows], kto_weight=options.kto_weight,
                                         beta=options.kto_beta)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                steps += 1
                history.append(parts)
                bar.update()
                bar.set_postfix(loss=f"{parts['loss']:.3f}")
                if steps >= total:
                    break
    model.eval()
    return {"steps": steps, "seconds": time.perf_counter() - started, "first": history[:1],
            "last": history[-1:], "examples": len(examples)}


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed every generator training draws from (LoRA init, anything random in torch, numpy, `random`)
    and ask torch for deterministic kernels; the process's previous settings come back afterwards.

    With the same data, seed and `threads`, a run gives the same weights. (A different thread
    count may still change the last bits of CPU reductions.)
    """
    import numpy as np
    import torch

    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    random_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
            random.setstate(random_state)
            np.random.set_state(numpy_state)


def with_lora(model: Any, rank: int) -> Any:
    """Wrap the model with LoRA adapters on every attention and MLP projection."""
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
               if t in names]
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=targets,
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def new_version_id(dataset: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{dataset.name}"


def train_generator(config: Any, dataset: Path, options: TrainOptions, *, root: Path | None = None,
                    loaded: tuple[Any, Any] | None = None) -> Path:
    """Fine-tune on `dataset`, export the variants into a new version directory; returns it."""
    import torch

    root = root or registry.model_root(config, GENERATOR)
    rows = _select(load_rows(dataset / "feedback.jsonl"), options.min_weight)
    if not any(r["label"] for r in rows):
        raise TrainingError(f"{dataset} has no reply rated good: collect more feedback first")
    source = base_source(root)
    if options.threads:
        torch.set_num_threads(options.threads)  # shared CPUs: more threads than free cores thrash
    model, tokenizer = loaded or _load(source)
    examples = tokenize(rows, tokenizer, system_prompt_of(config))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with seeded(options.seed):
        trainable = with_lora(model, options.lora_rank) if options.method == "lora" else model
        report = fit(trainable, examples, pad_id, options)
    if options.method == "lora":
        model = trainable.merge_and_unload()
    version = root / registry.VERSIONS / new_version_id(dataset)
    _export(model, tokenizer, source, version, options)
    training = {"base": source.describe() | {"name": source.name}, "dataset": str(dataset),
                "options": asdict(options), "fit": report, "good": sum(e.good for e in examples),
                "bad": sum(not e.good for e in examples)}
    (version / "training.json").write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
    return version


def _load(source: Any) -> tuple[Any, Any]:
    from interplay.trainer.lm.source import load_checkpoint

    return load_checkpoint(source)


def _export(model: Any, tokenizer: Any, source: Any, version: Path, options: TrainOptions) -> None:
    """The same export, quantization, parity checks and manifests as `interplay models prepare`."""
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource

    named = ModelSource(source.kind, source.location, source.gguf_file, name=f"{source.name}-ft")
    model.config.use_cache = True
    build_generator(named, version, variants=options.variants, model=model, tokenizer=tokenizer)
