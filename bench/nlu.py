"""NLU classifier serving: ONNX int8 vs ONNX fp32 vs PyTorch fp32 on the same trained model.

Per-message latency (p50/p95, batch 1, tokenization included) and throughput, plus the accuracy of each
backend on the same test rows. Backends are timed in interleaved rounds so that load from other
processes on a shared machine falls on all of them alike. Prints a table, writes bench/results/nlu.json.

    nice .venv/bin/python bench/nlu.py [--run runs/clinc_full] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "nlu.json"
DEFAULT_RUNS = [Path("runs/clinc_full"), Path.home() / ".cache/interplay/models/runs/intent-default"]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--run",
        type=Path,
        help="a training run directory with checkpoint/ (default: first found of "
        + ", ".join(map(str, DEFAULT_RUNS))
        + ")",
    )
    p.add_argument(
        "--test", type=Path, help="labeled test file (default: the run's test data, CLINC150 test)"
    )
    p.add_argument("--messages", type=int, default=400, help="messages timed per backend at batch 1")
    p.add_argument("--accuracy-rows", type=int, default=0, help="test rows for accuracy (0: all)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for every backend")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--quick", action="store_true", help="100 messages, 1000 accuracy rows")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.quick:
        args.messages, args.accuracy_rows = 100, args.accuracy_rows or 1000
    return args


def find_run(run: Path | None) -> Path:
    for candidate in [run] if run else DEFAULT_RUNS:
        if candidate and (candidate / "checkpoint" / "config.json").is_file():
            return candidate
    raise SystemExit(
        "no trained run found: run trainer/experiments/clinc_full.sh or `interplay models prepare`"
    )


def export_both(checkpoint: Path, tmp: Path, labels: list[str], max_length: int) -> dict[str, Path]:
    """fp32 and int8 model directories exported from the same checkpoint."""
    from interplay.plugins.nlu.manifest import ModelManifest
    from interplay.trainer.classifier.export import onnx_export, quantize_int8, write_model_dir

    fp32 = onnx_export(checkpoint, tmp / "onnx")
    int8 = quantize_int8(tmp / "onnx", tmp / "int8")
    manifest = ModelManifest(kind="bench", labels=labels, max_length=max_length)
    write_model_dir(int8, checkpoint, tmp / "int8dir", manifest.model_copy(update={"precision": "int8"}))
    write_model_dir(fp32, checkpoint, tmp / "fp32dir", manifest)
    return {"onnx-int8": tmp / "int8dir", "onnx-fp32": tmp / "fp32dir"}


def onnx_backend(directory: Path, threads: int) -> Callable[[list[str]], np.ndarray]:
    from interplay.plugins.nlu.classifier import OnnxTextClassifier

    clf = OnnxTextClassifier(directory, threads=threads, device="cpu")
    return clf.model.run


def torch_backend(checkpoint: Path, threads: int, max_length: int) -> Callable[[list[str]], np.ndarray]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()

    def run(texts: list[str]) -> np.ndarray:
        enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            return model(**enc).logits.numpy()

    return run


def accuracy(
    run: Callable[[list[str]], np.ndarray], texts: list[str], y: np.ndarray, labels: list[str]
) -> dict:
    logits = np.concatenate([run(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    pred = logits.argmax(1)
    out = {"accuracy": float((pred == y).mean())}
    if "oos" in labels:
        mask = y != labels.index("oos")
        out["in_scope_accuracy"] = float((pred[mask] == y[mask]).mean())
    return out


def time_rounds(backends: dict[str, Callable], texts: list[str], rounds: int) -> dict[str, list[float]]:
    """Per-message seconds at batch 1, backends interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in backends}
    chunks = np.array_split(np.arange(len(texts)), rounds)
    for run in backends.values():
        for text in texts[:20]:
            run([text])  # warm-up: first calls allocate
    for chunk in chunks:
        for name, run in backends.items():
            for i in chunk:
                started = time.perf_counter()
                run([texts[i]])
                times[name].append(time.perf_counter() - started)
    return times


def summarize(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "throughput_msg_s": float(len(ms) / (ms.sum() / 1000)),
    }


def main() -> None:
    args = parse()
    from interplay.trainer.classifier.data import read_examples

    run_dir = find_run(args.run)
    run_metrics = json.loads((run_dir / "metrics.json").read_text())
    labels, max_length = run_metrics["labels"], run_metrics["config"]["max_length"]
    test_file = args.test or Path(run_metrics.get("files", {}).get("test") or "")
    if not test_file.is_file():
        test_file = Path(__file__).parent.parent / "trainer/data/clinc150/test.csv.xz"
    rows = [e for e in read_examples(test_file) if e.label in labels]
    rows = rows[: args.accuracy_rows] if args.accuracy_rows else rows
    texts, y = [e.text for e in rows], np.array([labels.index(str(e.label)) for e in rows])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-nlu-") as tmp:
        dirs = export_both(run_dir / "checkpoint", Path(tmp), labels, max_length)
        backends = {name: onnx_backend(d, args.threads) for name, d in dirs.items()}
        backends["pytorch-fp32"] = torch_backend(run_dir / "checkpoint", args.threads, max_length)
        results = {name: accuracy(run, texts, y, labels) for name, run in backends.items()}
        rng = np.random.default_rng(0)
        sample = [
            texts[i] for i in rng.choice(len(texts), size=min(args.messages, len(texts)), replace=False)
        ]
        for name, seconds in time_rounds(backends, sample, args.rounds).items():
            results[name].update(summarize(seconds))
    report(args, run_dir, test_file, len(texts), results, load_before)


def report(args, run_dir: Path, test_file: Path, n_rows: int, results: dict, load_before: tuple) -> None:
    base = results["pytorch-fp32"]
    head = ("backend", "p50 ms", "p95 ms", "msg/s", "speed-up", "accuracy", "in-scope")
    print("\n" + f"{head[0]:<14}" + "".join(f"{h:>10}" for h in head[1:]))
    for name, r in results.items():
        r["speedup_vs_pytorch_p50"] = base["p50_ms"] / r["p50_ms"]
        print(
            f"{name:<14}{r['p50_ms']:>10.2f}{r['p95_ms']:>10.2f}{r['throughput_msg_s']:>10.1f}"
            f"{r['speedup_vs_pytorch_p50']:>9.2f}x{100 * r['accuracy']:>10.2f}"
            f"{100 * r.get('in_scope_accuracy', float('nan')):>10.2f}"
        )
    drop = 100 * (results["onnx-fp32"]["accuracy"] - results["onnx-int8"]["accuracy"])
    print(f"int8 accuracy change vs fp32: {-drop:+.2f} points on {n_rows} rows")
    out = {
        "run": str(run_dir),
        "test_file": str(test_file),
        "rows": n_rows,
        "messages": args.messages,
        "threads": args.threads,
        "quick": args.quick,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "int8_accuracy_drop_points": drop,
        "results": results,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
