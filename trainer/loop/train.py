"""`interplay train generator`: fine-tune the chat model on a dataset, export it like `models prepare`.

A run starts from what the bot serves now: a trained version's saved weights
(`<version>/checkpoint/`), or the base checkpoint the generator was prepared from, and trains on
that version's own rated replies (on-policy, so each round costs the same; earlier rounds'
replies were trained on by the rounds that made the served version). The KTO reference is that
same starting model, so every round stays close to what users rated. `from_served = false`
restores the old behaviour: base checkpoint, every row. The result is a new version directory
`<generator root>/versions/<id>/` with the served variant (or `variants`), its manifest,
`training.json` and `checkpoint/`.
"""

from __future__ import annotations

import contextlib
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
from interplay.core.plugins import plugin_model_root
from interplay.plugins.onnx_generator import model_dir as layout

from .examples import TokenizedExample, load_rows, system_prompt_of, tokenize

log = logging.getLogger("interplay.trainer.loop")
GENERATOR = "onnx"
CHECKPOINT = "checkpoint"  # merged PyTorch weights of a trained version


@dataclass(frozen=True)
class TrainOptions:
    """How to fine-tune; defaults come from `[loop]` in config.toml (docs/learning-loop.md says why)."""

    method: str = "lora"
    epochs: int = 1
    min_steps: int = 0  # whole extra epochs until at least this many steps (small datasets)
    max_steps: int | None = None
    learning_rate: float = 4e-4
    warmup: float = 0.1  # share of the steps with a linear warm-up; a cosine decay to 0 follows
    batch_size: int = 8
    kto_weight: float = 1.0
    kto_beta: float = 0.1
    kl_weight: float = 0.3  # token KL to the starting model on every reply position (objective.py)
    lora_rank: int = 16
    lora_layers: float = 0.5  # share of the decoder layers, from the top, that get adapters
    min_weight: float = 0.25
    variants: tuple[str, ...] = ()  # () = only the precision the bot serves
    precision: str = "auto"  # auto: bf16 autocast where the CPU or GPU runs it natively, else fp32
    from_served: bool = True  # start from the served version's weights and train on its own replies
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 = torch's default

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> TrainOptions:
        loop = config.loop
        keys = ("method", "epochs", "min_steps", "max_steps", "learning_rate", "warmup", "batch_size",
                "kto_weight", "kto_beta", "kl_weight", "lora_rank", "lora_layers", "min_weight", "threads",
                "from_served")
        values = {k: getattr(loop, k) for k in keys}
        values["variants"] = tuple(loop.variants)
        values["precision"] = loop.train_precision
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


def _select(rows: list[dict[str, Any]], min_weight: float, served: str | None = None) -> list[dict[str, Any]]:
    """Rows with enough feedback weight, grouped by conversation (turn order kept within each).

    With `served` (the version training starts from), only that version's own replies: earlier
    versions' replies were trained on by the rounds that made it. Where no row names it (a store
    from before versions were recorded), every row counts.

    The export lists rows in message time order, which interleaves concurrent conversations
    however their replies happened to finish; grouping makes the training order (and so the
    seeded shuffle's batches) depend on the data only.
    """
    chosen = [r for r in rows if float(r["weight"]) >= min_weight]
    own = [r for r in chosen if served and r.get("model_version") == served]
    return sorted(own or chosen, key=lambda r: str(r.get("conversation_id", "")))


def batches_of(examples: list[TokenizedExample], size: int, seed: int) -> list[list[TokenizedExample]]:
    """Fixed batches of similar length (less padding), in a seeded order.

    Batches stay the same across epochs because the KTO reference (matched and mismatched pairs)
    is computed per batch once; only their order is shuffled each epoch.
    """
    rng = random.Random(seed)
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].prompt) + len(examples[i].reply),
                                                         rng.random()))
    batches = [[examples[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


MAX_EPOCHS = 4  # min_steps never makes more passes than this over a round's replies


def planned_steps(batches: int, options: TrainOptions) -> int:
    """Optimizer steps: `epochs` passes over the batches, more whole passes (up to MAX_EPOCHS) while
    that is under `min_steps`, and never more than `max_steps`.

    A round of 200 ratings is 25 batches; one pass moved the served model too little to show in
    what it says (docs/learning-loop.md), while 500 ratings (`min_new_feedback`) are 63 steps in one.
    """
    epochs = options.epochs
    if options.min_steps and batches:
        epochs = max(epochs, min(MAX_EPOCHS, -(-options.min_steps // batches)))
    total = batches * epochs
    return min(total, options.max_steps) if options.max_steps else total


def autocast_dtype(precision: str, device: str) -> Any:
    """bf16 where the hardware runs it natively (CUDA, or a CPU with AVX512-BF16/AMX), else None."""
    import torch

    if precision == "fp32":
        return None
    if device == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if precision == "bf16" and not native:
        raise TrainingError("train_precision = \"bf16\" but this machine has no native bf16: "
                            "use \"auto\" or \"fp32\"")
    return torch.bfloat16 if native else None


def fit(model: Any, examples: list[TokenizedExample], pad_id: int, options: TrainOptions,
        device: str = "cpu") -> dict[str, Any]:
    """The optimisation loop; returns loss history and timing. `model` is trained in place."""
    import torch
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    from .objective import batch_loss, class_weights, reference_logps

    dtype = autocast_dtype(options.precision, device)
    cast = (lambda: torch.autocast(device, dtype=dtype)) if dtype else contextlib.nullcontext
    batches = batches_of(examples, options.batch_size, options.seed)
    started = time.perf_counter()
    with cast():
        reference = reference_logps(model, batches, pad_id, anchor=options.kl_weight > 0)
    reference_seconds = time.perf_counter() - started
    weights = class_weights(sum(e.good for e in examples), sum(not e.good for e in examples))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.0)
    total = planned_steps(len(batches), options)
    schedule = get_cosine_schedule_with_warmup(optimizer, int(options.warmup * total), total)
    rng = random.Random(options.seed)
    steps, history = 0, []
    model.train()
    with tqdm(total=total, desc="train generator", unit="step") as bar:
        while steps < total:
            order = list(range(len(batches)))
            rng.shuffle(order)
            for b in order[: total - steps]:
                with cast():
                    loss, parts = batch_loss(model, batches[b], pad_id, reference[b], weights=weights,
                                             kto_weight=options.kto_weight, beta=options.kto_beta,
                                             kl_weight=options.kl_weight)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                steps += 1
                history.append(parts)
                bar.update()
                bar.set_postfix(loss=f"{parts['loss']:.3f}")
    model.eval()
    return {"steps": steps, "seconds": time.perf_counter() - started, "reference_seconds": reference_seconds,
            "first": history[:1], "last": history[-1:], "examples": len(examples),
            "weights": asdict(weights), "autocast": str(dtype).replace("torch.", "") if dtype else "fp32",
            "device": device}


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed every generator training draws from (LoRA init, anything random in torch, numpy, `random`);
    the process's previous random states come back afterwards.

    torch's deterministic-algorithms mode is deliberately not switched on: on the CPU it made a
    SmolLM2 LoRA step 6x slower (30.8 s against 4.9 s, docs/learning-loop.md) and the loop's
    CPU kernels repeat run to run anyway with the same data, seed and thread count.
    """
    import numpy as np
    import torch

    random_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(random_state)
            np.random.set_state(numpy_state)


def with_lora(model: Any, rank: int, layers: float = 1.0) -> Any:
    """Wrap the model with LoRA adapters on every attention and MLP projection of the top `layers`
    share of its decoder layers.

    The top half is the default: backpropagation then stops halfway down (the layers below have
    nothing to train), which made a SmolLM2-135M step (batch 8 x 89 tokens, bf16, 2 cores) take
    1.64 s instead of 2.26 s, and a forward 0.77 s instead of 1.09 s (bench/loop_step.py); what
    the loop teaches (how long to talk, how to end, what to say first) lives in the upper layers.
    """
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
               if t in names]
    count = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    chosen = list(range(count - max(1, round(layers * count)), count)) if count and layers < 1 else None
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=targets,
                        task_type="CAUSAL_LM", layers_to_transform=chosen)
    return get_peft_model(model, config)


def new_version_id(dataset: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{dataset.name}"


@dataclass(frozen=True)
class Start:
    """Where training starts: the served version's saved weights, or the base checkpoint."""

    checkpoint: Path | None  # <version>/checkpoint, when the served version is a trained one
    served_version: str | None  # the served variant's version string (what rows name)
    precision: str  # the variant the bot serves: the one to export


def starting_point(config: Any, root: Path, options: TrainOptions) -> Start:
    from interplay.core.model_dir import cuda_usable

    precision = layout.choose_precision(str(config.plugin_table(GENERATOR).get("precision", "auto")),
                                        cuda=cuda_usable())
    current = registry.current_path(root)
    served_dir = current or root
    served = None
    for candidate in (served_dir / precision, served_dir, *(served_dir / p for p in layout.PRECISIONS)):
        try:
            served = layout.read_manifest(candidate).get("version")
            break
        except ModelError:
            continue
    checkpoint = current / CHECKPOINT if current and (current / CHECKPOINT).is_dir() else None
    if not options.from_served:
        checkpoint, served = None, None
    return Start(checkpoint, served, precision)


def train_generator(config: Any, dataset: Path, options: TrainOptions, *, root: Path | None = None,
                    loaded: tuple[Any, Any] | None = None) -> Path:
    """Fine-tune on `dataset`, export the served variant into a new version directory; returns it."""
    import torch

    root = root or plugin_model_root(config, GENERATOR)
    start = starting_point(config, root, options)
    rows = _select(load_rows(dataset / "feedback.jsonl"), options.min_weight, start.served_version)
    if not any(r["label"] for r in rows):
        raise TrainingError(f"{dataset} has no reply rated good: collect more feedback first")
    source = base_source(root)
    if options.threads:
        torch.set_num_threads(options.threads)  # shared CPUs: more threads than free cores thrash
    clock = time.perf_counter()
    model, tokenizer = _load(start.checkpoint) if start.checkpoint else (loaded or _load_source(source))
    load_seconds = time.perf_counter() - clock
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    examples = tokenize(rows, tokenizer, system_prompt_of(config))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with seeded(options.seed):
        trainable = (with_lora(model, options.lora_rank, options.lora_layers) if options.method == "lora"
                     else model)
        report = fit(trainable, examples, pad_id, options, device)
    if options.method == "lora":
        model = trainable.merge_and_unload()
    model.to("cpu")
    version = root / registry.VERSIONS / new_version_id(dataset)
    clock = time.perf_counter()
    _export(model, tokenizer, source, version, options.variants or (start.precision,))
    export_seconds = time.perf_counter() - clock
    model.save_pretrained(version / CHECKPOINT)  # the next round starts from these weights
    tokenizer.save_pretrained(version / CHECKPOINT)
    training = {"base": source.describe() | {"name": source.name}, "dataset": str(dataset),
                "start": str(start.checkpoint or "base checkpoint"), "served_version": start.served_version,
                "options": asdict(options), "fit": report, "good": sum(e.good for e in examples),
                "bad": sum(not e.good for e in examples),
                "seconds": {"load": load_seconds, "reference": report["reference_seconds"],
                            "steps": report["seconds"] - report["reference_seconds"],
                            "export": export_seconds}}
    (version / "training.json").write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
    return version


def _load(checkpoint: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32"),
            AutoTokenizer.from_pretrained(checkpoint))


def _load_source(source: Any) -> tuple[Any, Any]:
    from interplay.trainer.lm.source import load_checkpoint

    return load_checkpoint(source)


def _export(model: Any, tokenizer: Any, source: Any, version: Path, variants: tuple[str, ...]) -> None:
    """The same export, quantization, parity checks and manifests as `interplay models prepare`."""
    from interplay.trainer.lm.prepare import build_generator
    from interplay.trainer.lm.source import ModelSource

    named = ModelSource(source.kind, source.location, source.gguf_file, name=f"{source.name}-ft")
    model.config.use_cache = True
    build_generator(named, version, variants=variants, model=model, tokenizer=tokenizer)
