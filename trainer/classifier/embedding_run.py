"""The embedding-head model kind end to end: frozen encoder, logistic regression, oos calibration, export.

Seconds to minutes on a CPU where fine-tuning takes many: every text is embedded once by the int8 ONNX
encoder that is also served, a linear head is fitted on the embeddings, the out-of-scope threshold is
chosen on validation, and the head is appended to the encoder graph, so the model directory looks like
a fine-tuned one to the runtime (one `logits` output, the same manifest).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from interplay.core.model_dir import ModelManifest, ParityCheck, file_sha256
from interplay.plugins.nlu import OnnxTextClassifier, oos_confidence

from . import embedding_graph as graph
from .embedding_encoder import ENCODER_FILE, Embedder, prepare_encoder
from .encoder import resolve_base
from .evaluate import apply_threshold, choose_threshold, classification_metrics, oos_scores, softmax
from .export import TOKENIZER_FILES, onnx_opset
from .linear_head import fit_head
from .recipe import max_length_for
from .report import plot_confusion, write_json, write_report
from .run import RunSpec, Splits, check_labels, label_ids, load_splits

log = logging.getLogger("interplay.trainer")
HeadKind = Literal["linear", "tokens"]
METHOD = "embedding-head"
MIN_PARITY_AGREEMENT = 0.99
PARITY_LOGIT_TOLERANCE = 1e-3


@dataclass
class HeadConfig:
    """How the head is fitted (the encoder stays frozen)."""

    c: float = 1.0  # inverse L2 strength of the logistic regression
    oos_weight: float | None = None  # weight of the oos class's training rows (default: 1)
    max_length: int | None = None  # default: from the training texts' token lengths
    threads: int = 2
    encoder_cache: Path | None = None  # default: <out>/encoder
    seed: int = 42
    head: HeadKind = "linear"  # "tokens": the token head (trainer.classifier.token_head)
    token_layers: int = 2  # token head: the encoder's last N layers, concatenated
    token_width: int = 256
    token_epochs: int = 4
    token_lr: float = 2e-3

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


SERVE_BATCH = 64  # the test split runs through the exported model in batches cut in file order


@dataclass
class FittedHead:
    """A head fitted on frozen-encoder features: its validation logits, how to compute its logits
    for texts outside the graph (batches cut in order, as the runtime cuts them), and its graph."""

    validation_logits: np.ndarray
    reference_logits: Callable[[list[str]], np.ndarray]
    build_graph: Callable[[Path], Any]  # encoder directory -> ONNX model with `logits`
    recipe: dict[str, Any]
    timing: dict[str, float]  # seconds: embedding, head


def fit_linear(
    encoder_dir: Path,
    max_length: int,
    s: Splits,
    y: dict[str, np.ndarray],
    n_labels: int,
    oos_id: int | None,
    cfg: HeadConfig,
) -> FittedHead:
    """Mean-pooled embeddings + logistic regression (the intent default)."""
    started = time.perf_counter()
    embedder = Embedder(encoder_dir, max_length, threads=cfg.threads)
    x = {
        name: embedder.embed([e.text for e in rows], progress=name)
        for name, rows in (("train", s.labeled), ("validation", s.validation))
    }
    embedded = time.perf_counter()
    keep = y["train"] >= 0
    head = fit_head(
        x["train"][keep], y["train"][keep], n_labels, c=cfg.c, oos_id=oos_id, oos_weight=cfg.oos_weight
    )
    return FittedHead(
        head.logits(x["validation"]),
        lambda texts: head.logits(embedder.embed(texts, batch_size=SERVE_BATCH, by_length=False)),
        lambda d: graph.add_linear_head(graph.load(d / ENCODER_FILE), head.weight, head.bias),
        {"head": "linear", "c": cfg.c, "oos_weight": cfg.oos_weight, "solver_iterations": head.iterations},
        {"embedding": embedded - started, "head": time.perf_counter() - embedded},
    )


def fit_tokens(
    encoder_dir: Path,
    max_length: int,
    s: Splits,
    y: dict[str, np.ndarray],
    n_labels: int,
    oos_id: int | None,
    cfg: HeadConfig,
) -> FittedHead:
    """Token states of the last layers + the token head (opt-in: `--frozen-head tokens`)."""
    from .token_head import TokenEmbedder, add_token_head, fit_token_head

    started = time.perf_counter()
    embedder = TokenEmbedder(encoder_dir, max_length, count=cfg.token_layers, threads=cfg.threads)
    keep = [i for i, label in enumerate(y["train"]) if label >= 0]
    train = embedder.embed([s.labeled[i].text for i in keep])
    validation = embedder.embed([e.text for e in s.validation])
    embedded = time.perf_counter()
    head = fit_token_head(
        train,
        y["train"][keep],
        n_labels,
        embedder.layers,
        validation=(validation, y["validation"]),
        width=cfg.token_width,
        epochs=cfg.token_epochs,
        lr=cfg.token_lr,
        seed=cfg.seed,
        threads=cfg.threads,
    )

    def logits(texts: list[str], by_length: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), n_labels), dtype=np.float32)
        for b in embedder.embed(texts, batch_size=SERVE_BATCH, by_length=by_length):
            out[b.index] = head.logits(b)
        return out

    val = np.zeros((len(s.validation), n_labels), dtype=np.float32)
    for b in validation:
        val[b.index] = head.logits(b)
    return FittedHead(
        val,
        logits,
        lambda d: add_token_head(graph.load(d / ENCODER_FILE), head),
        {
            "head": "tokens",
            "layers": list(head.layers),
            "width": cfg.token_width,
            "epochs": cfg.token_epochs,
            "lr": cfg.token_lr,
            "validation_accuracy_per_epoch": list(head.history),
        },
        {"embedding": embedded - started, "head": time.perf_counter() - embedded},
    )


def calibrate(
    val_logits: np.ndarray, y_val: np.ndarray, labels: list[str], spec: RunSpec
) -> tuple[float | None, dict[str, float] | None]:
    """The oos threshold chosen on validation (None when the data has no out-of-scope rows)."""
    oos_id = labels.index(spec.oos_label) if spec.oos_label in labels else None
    if spec.oos_label is None or not (
        (y_val == -1).any() or (oos_id is not None and (y_val == oos_id).any())
    ):
        return spec.threshold, None
    if spec.threshold is not None:
        return spec.threshold, None
    return choose_threshold(
        softmax(val_logits),
        y_val,
        oos_id if oos_id is not None else -1,
        spec.min_in_scope,
        oos_confidence(val_logits, oos_id, spec.oos_score),
    )


def evaluate(
    logits: np.ndarray, y: np.ndarray, labels: list[str], spec: RunSpec, threshold: float | None
) -> tuple[dict[str, Any], dict[str, Any] | None, np.ndarray]:
    """Test metrics (argmax), the out-of-scope figures at `threshold`, and the final predictions."""
    test = classification_metrics(y, logits.argmax(1), labels)
    oos_id = labels.index(spec.oos_label) if spec.oos_label in labels else None
    scores = oos_confidence(logits, oos_id, spec.oos_score)
    final = apply_threshold(softmax(logits), oos_id, threshold, scores)
    if threshold is None and oos_id is None:
        return test, None, final
    oos: dict[str, Any] = {"threshold": threshold, "oos_score": spec.oos_score}
    if oos_id is not None:
        oos["oos_class"] = oos_scores(y, logits.argmax(1), oos_id)
    if threshold is not None:
        oos["threshold_method"] = oos_scores(y, final, oos_id)
    return test, oos, final


def served_logits(directory: Path, texts: list[str]) -> np.ndarray:
    """Logits of an exported model directory through the runtime's own loader."""
    runtime = OnnxTextClassifier(directory, threads=2, device="cpu")
    if not texts:
        return np.zeros((0, len(runtime.labels)))
    return np.concatenate(
        [runtime.logits(texts[i : i + SERVE_BATCH]) for i in range(0, len(texts), SERVE_BATCH)]
    )


def write_head_dir(encoder_dir: Path, model: Any, out: Path, manifest: ModelManifest) -> ModelManifest:
    """Write the model directory (the encoder graph with its head, tokenizer files, manifest)."""
    if out.exists():
        shutil.rmtree(out)
    graph.save(model, out / "model.onnx")
    for name in TOKENIZER_FILES:
        if (encoder_dir / name).is_file():
            shutil.copyfile(encoder_dir / name, out / name)
    manifest = manifest.model_copy(
        update={
            "model_file": "model.onnx",
            "sha256": file_sha256(out / "model.onnx"),
            "opset": onnx_opset(out / "model.onnx"),
        }
    )
    manifest.save(out)
    return manifest


def parity_check(served: np.ndarray, reference: np.ndarray, *, exact: bool) -> ParityCheck:
    """The served logits against the fitted head applied to the same texts embedded in the same
    batches: a check that the graph computes what was fitted. `exact` (fp32) also bounds the logit
    difference; int8 activations are re-quantized in every layer, so thread-order rounding shifts
    its logits a little (labels are what must agree)."""
    n = len(served)
    check = {
        "examples": n,
        "max_abs_logit_diff": float(np.abs(served - reference).max()) if n else 0.0,
        "label_agreement": float((served.argmax(1) == reference.argmax(1)).mean()) if n else 1.0,
    }
    passed = check["label_agreement"] >= MIN_PARITY_AGREEMENT
    if exact:
        passed = passed and check["max_abs_logit_diff"] < PARITY_LOGIT_TOLERANCE
    return ParityCheck(**check, passed=passed)


def train_embedding_classifier(spec: RunSpec, cfg: HeadConfig) -> dict[str, Any]:
    """Embed, fit, calibrate, export, evaluate (through the exported model) and report."""
    started = time.perf_counter()
    s = load_splits(spec, cfg.seed)
    labels = check_labels(s, spec)
    encoder_dir = prepare_encoder(
        resolve_base(spec.base), cfg.encoder_cache or spec.out / "encoder", quantize=spec.quantize
    )
    lengths = Embedder(encoder_dir, 512, threads=cfg.threads).token_lengths([e.text for e in s.labeled])
    max_length = cfg.max_length or max_length_for(lengths)
    y = {
        name: np.array(label_ids(rows, labels, spec.oos_label), dtype=np.int64)
        for name, rows in (("train", s.labeled), ("validation", s.validation), ("test", s.test))
    }
    oos_id = labels.index(spec.oos_label) if spec.oos_label in labels else None
    fit = fit_tokens if cfg.head == "tokens" else fit_linear
    head_started = time.perf_counter()
    head = fit(encoder_dir, max_length, s, y, len(labels), oos_id, cfg)
    threshold, validation_scores = calibrate(head.validation_logits, y["validation"], labels, spec)
    fitted = time.perf_counter()
    recipe = {
        "max_length": max_length,
        "token_length_p99": float(np.percentile(lengths, 99)),
        **head.recipe,
        "min_in_scope": spec.min_in_scope,
        "oos_score": spec.oos_score,
    }
    out = spec.model_dir or spec.out / "model"
    texts = [e.text for e in s.test]
    manifest = None
    if spec.export:
        manifest = write_head_dir(
            encoder_dir,
            head.build_graph(encoder_dir),
            out,
            ModelManifest(
                kind=spec.kind,
                labels=labels,
                base_model=spec.base or "all-MiniLM-L6-v2",
                precision="int8" if spec.quantize else "fp32",
                max_length=max_length,
                threshold=threshold,
                oos_score=spec.oos_score,
                oos_label=spec.oos_label if threshold is not None or spec.oos_label in labels else None,
                method=METHOD,
                training=recipe,
            ),
        )
        logits = served_logits(out, texts)
    else:
        logits = head.reference_logits(texts)
    test, oos, final = evaluate(logits, y["test"], labels, spec, threshold)
    test["split"] = s.test_name
    if oos is not None and validation_scores is not None:
        oos["validation_threshold"] = validation_scores
    metrics: dict[str, Any] = {
        "kind": spec.kind,
        "method": METHOD,
        "base_model": spec.base or "all-MiniLM-L6-v2",
        "labels": labels,
        "config": {
            **cfg.to_dict(),
            "max_length": max_length,
            "gan": False,
            "precision": "int8" if spec.quantize else "fp32",
        },
        "recipe": recipe,
        "best_epoch": 0,
        "steps": 0,
        "seconds": fitted - started,
        "timing": {"before_embedding": head_started - started, **head.timing},
        "data": {
            "labeled": int((y["train"] >= 0).sum()),
            "augmented": 0,
            "unlabeled": 0,
            "validation": len(s.validation),
            "test": len(s.test),
        },
        "files": {
            k: str(getattr(spec, k)) if getattr(spec, k) else None for k in ("train", "validation", "test")
        },
        "history": [],
        "test": test,
        "oos": oos,
    }
    if manifest is not None:
        from .run import _summary

        n = min(spec.parity_examples or 500, len(texts))
        check = parity_check(logits[:n], head.reference_logits(texts[:n]), exact=not spec.quantize)
        if not check.passed:
            log.warning("the exported model does not compute the fitted head: %s", check)
        manifest.model_copy(update={"metrics": _summary(metrics), "parity": check}).save(out)
        metrics["export"] = {
            "model_dir": str(out),
            "precision": manifest.precision,
            "parity": check.model_dump(),
        }
    metrics["timing"]["test_through_model"] = time.perf_counter() - fitted
    metrics["seconds_total"] = time.perf_counter() - started
    spec.out.mkdir(parents=True, exist_ok=True)
    plot_confusion(y["test"], final, labels, spec.out / "confusion.png")
    write_json(spec.out / "metrics.json", metrics)
    write_report(spec.out, metrics)
    return metrics
