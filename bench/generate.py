"""Generation speed and quality: PyTorch eager vs Interplay ONNX fp32, int8, int4 (and CUDA fp16).

Same prompts, same machine, one run. Each backend runs in its own subprocess so its peak memory
is its own. For 1, 4 and 16 concurrent conversations it reports time to first token (p50/p95),
decode tokens/s per stream and aggregate tokens/s; then int8 (and int4, when prepared) vs fp32
reply perplexity on DailyDialog validation replies (read from ../shared/data, never copied into
the repository).

    python bench/generate.py            # about 10 minutes on 2 cores
    python bench/generate.py --quick    # about 3 minutes

Needs a prepared generator (`interplay models prepare`) and, for the PyTorch baseline, torch.
Every reply is forced to the same length (stop tokens ignored) so backends do equal work.
Each backend's row records the load average before and after it and the CPU other processes
used meanwhile (bench/conditions.py); rows taken under load say so in the table and the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import conditions  # bench/ is not a package: its sibling module, by path

RESULTS = Path(__file__).parent / "results" / "generate.json"
BENCH = Path(__file__).resolve().parent
DAILYDIALOG = Path("shared") / "data" / "dailydialog" / "validation.jsonl"
PROMPTS = [
    "Hi! How are you today?",
    "Can you recommend a good book for a long train ride?",
    "My order arrived broken and nobody answers my emails.",
    "What is a rainbow, in simple words?",
    "I have a job interview tomorrow. Any tips?",
    "How do I make a cup of green tea properly?",
    "Tell me a fun fact about octopuses.",
    "What should I pack for a weekend of hiking?",
    "Why is the sky blue?",
    "Can you help me write a short thank-you note to a friend?",
    "What are some easy vegetables to grow on a balcony?",
    "I can't sleep lately. What could help?",
    "Explain what a password manager does.",
    "What's a good way to start learning to cook?",
    "How can I be more productive when working from home?",
    "Suggest a name for my new grey kitten.",
]


def default_data(start: Path = BENCH) -> Path:
    """../shared/data seen from the checkout, however deep the worktree (/work/main, /work/wt/<name>)."""
    for folder in start.parents:
        if (folder / DAILYDIALOG).is_file():
            return folder / DAILYDIALOG
    return start.parents[1] / DAILYDIALOG  # not found: named in the error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer tokens, rounds and replies")
    parser.add_argument("--tokens", type=int, help="new tokens per reply (default 64, quick 24)")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated conversation counts")
    parser.add_argument("--backends", default="auto",
                        help="comma-separated: torch-cpu, onnx-fp32, onnx-int8, onnx-int4, torch-cuda, "
                             "onnx-cuda-fp16; empty for perplexity only")
    parser.add_argument("--ppl-replies", type=int, help="DailyDialog replies for perplexity (default 200)")
    parser.add_argument("--data", type=Path, help="DailyDialog validation JSONL (default: ../shared/data)")
    parser.add_argument("--models-dir", type=Path, help="default: the configured models_dir")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args(argv)
    args.tokens = args.tokens or (24 if args.quick else 64)
    args.ppl_replies = args.ppl_replies if args.ppl_replies is not None else (60 if args.quick else 200)
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.data = args.data or default_data()
    if args.ppl_replies and not args.worker and not args.data.is_file():
        parser.error(f"no DailyDialog data at {args.data}: pass --data PATH, "
                     "or --ppl-replies 0 to skip perplexity")
    return args


def generator_root(args: argparse.Namespace) -> Path:
    from interplay.core import load_config
    from interplay.plugins.onnx_generator import OnnxGenerator

    return OnnxGenerator.model_home.root(args.models_dir or load_config().models_dir)


def rounds_for(level: int, quick: bool) -> int:
    """Sequential rounds per concurrency level, so every level has enough TTFT samples."""
    return max(1, (4 if quick else 8) // level)


def summarize(samples: list[dict[str, float]], walls: list[float], tokens: int) -> dict[str, float]:
    ttft = sorted(s["ttft"] for s in samples)
    return {
        "ttft_p50_ms": 1000 * statistics.median(ttft),
        "ttft_p95_ms": 1000 * ttft[min(len(ttft) - 1, round(0.95 * (len(ttft) - 1)))],
        "decode_tok_s_per_stream": statistics.median(s["decode_tok_s"] for s in samples),
        "aggregate_tok_s": len(samples) * tokens / sum(walls),
        "requests": len(samples),
    }


# ---------------------------------------------------------------- workers (one backend each)


async def onnx_worker(args: argparse.Namespace, precision: str, device: str) -> dict[str, Any]:
    from interplay.core import PluginContext
    from interplay.plugins.onnx_generator.generator import OnnxGenerator

    settings = OnnxGenerator.Settings(model_dir=generator_root(args), precision=precision, device=device,
                                      temperature=0.0, repetition_penalty=1.0, max_new_tokens=args.tokens,
                                      max_batch=max(args.levels), timeout=3600)
    gen = OnnxGenerator(settings, PluginContext(None, Path("."), None))  # type: ignore[arg-type]
    await gen.start()
    gen.engine.stop_token_ids = set()  # equal work: every reply runs to --tokens
    prompts = [await asyncio.to_thread(gen.prompts.build, _conversation(p)) for p in PROMPTS]

    async def one(ids: list[int]) -> dict[str, float]:
        began = time.perf_counter()
        stamps = [time.perf_counter() async for _ in gen.tokens(ids, gen.sampling())]
        decode = (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1e-9)
        return {"ttft": stamps[0] - began, "decode_tok_s": decode}

    await one(prompts[0])  # warm-up: first-run allocations are not what users see
    out: dict[str, Any] = {"model": gen.model_version, "levels": {}}
    for level in args.levels:
        samples, walls = [], []
        for r in range(rounds_for(level, args.quick)):
            began = time.perf_counter()
            batch = [prompts[(r * level + i) % len(prompts)] for i in range(level)]
            samples += await asyncio.gather(*(one(ids) for ids in batch))
            walls.append(time.perf_counter() - began)
        out["levels"][str(level)] = summarize(samples, walls, args.tokens)
    await gen.stop()
    return out


def _conversation(text: str) -> Any:
    from interplay.core import Conversation, Message

    return Conversation("bench", Message("bench", "bench", "bench", text))


def torch_worker(args: argparse.Namespace, device: str) -> dict[str, Any]:
    import torch
    from interplay.core import load_config
    from interplay.trainer.lm.source import load_checkpoint, parse_source
    from transformers import StoppingCriteria

    model, tokenizer = load_checkpoint(parse_source(load_config().plugin_table("onnx").get("source")))
    model.to(device)
    tokenizer.padding_side = "left"  # decoder-only batches pad on the left
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    pad = tokenizer.pad_token_id
    chats = [[{"role": "user", "content": p}] for p in PROMPTS]

    class Stamp(StoppingCriteria):
        """Called once per generated token: the first call marks the first token."""

        def __init__(self) -> None:
            self.times: list[float] = []

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            if device == "cuda":
                torch.cuda.synchronize()
            self.times.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def run(batch: list[Any]) -> tuple[list[dict[str, float]], float]:
        enc = tokenizer.apply_chat_template(batch, add_generation_prompt=True, padding=True,
                                            return_tensors="pt", return_dict=True).to(device)
        stamp = Stamp()
        began = time.perf_counter()
        with torch.inference_mode():
            model.generate(**enc, max_new_tokens=args.tokens, min_new_tokens=args.tokens, do_sample=False,
                           pad_token_id=pad, stopping_criteria=[stamp])
        wall = time.perf_counter() - began
        decode = (len(stamp.times) - 1) / max(stamp.times[-1] - stamp.times[0], 1e-9)
        return [{"ttft": stamp.times[0] - began, "decode_tok_s": decode}] * len(batch), wall

    run(chats[:1])
    out: dict[str, Any] = {"model": f"transformers {type(model).__name__} fp32 eager", "levels": {}}
    for level in args.levels:
        samples, walls = [], []
        for r in range(rounds_for(level, args.quick)):
            got, wall = run([chats[(r * level + i) % len(chats)] for i in range(level)])
            samples += got
            walls.append(wall)
        out["levels"][str(level)] = summarize(samples, walls, args.tokens)
    return out


def perplexity_worker(args: argparse.Namespace) -> dict[str, Any]:
    from interplay.plugins.onnx_generator.generator import load_tokenizer
    from interplay.plugins.onnx_generator.session import DecoderSession
    from interplay.trainer.lm.perplexity import dialogue_examples, perplexity

    if not args.data.is_file():
        return {"skipped": f"no data at {args.data}"}
    root = generator_root(args)
    examples = dialogue_examples(args.data, load_tokenizer(root / "fp32"), limit=args.ppl_replies)
    result: dict[str, Any] = {"replies": len(examples), "tokens": sum(len(e.reply) for e in examples)}
    for precision in perplexity_precisions(root):
        watch = conditions.Conditions()
        result[precision] = perplexity(DecoderSession(root / precision / "model.onnx"), examples)
        result[f"{precision}_conditions"] = watch.finish()
        if precision != "fp32":
            result[f"{precision}_vs_fp32"] = result[precision] / result["fp32"] - 1
    return result


def perplexity_precisions(root: Path) -> list[str]:
    """fp32 (the reference) and every CPU quantization prepared beside it (int4 is optional)."""
    return ["fp32"] + [p for p in ("int8", "int4") if (root / p / "model.onnx").is_file()]


def run_worker(args: argparse.Namespace) -> None:
    name = args.worker
    if name == "perplexity":
        result = perplexity_worker(args)
    elif name.startswith("torch-"):
        result = torch_worker(args, "cuda" if name == "torch-cuda" else "cpu")
    else:
        precision = name.rsplit("-", 1)[-1]
        result = asyncio.run(onnx_worker(args, precision, "cuda" if "cuda" in name else "cpu"))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------- driver


def pick_backends(args: argparse.Namespace) -> list[str]:
    if args.backends != "auto":
        return [b for b in args.backends.split(",") if b]  # "" = perplexity only
    backends = ["torch-cpu", "onnx-fp32", "onnx-int8"]
    if (generator_root(args) / "int4" / "model.onnx").is_file():
        backends.append("onnx-int4")
    from interplay.plugins.onnx_generator.session import cuda_usable

    if cuda_usable():
        backends += ["torch-cuda", "onnx-cuda-fp16"]
    return backends


def spawn(args: argparse.Namespace, worker: str, argv: list[str]) -> dict[str, Any]:
    print(f"... {worker}", file=sys.stderr, flush=True)
    began, watch = time.perf_counter(), conditions.Conditions()
    command = [sys.executable, __file__, *argv, "--worker", worker]
    proc = subprocess.run(command, capture_output=True, text=True)
    measured = watch.finish()
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            result["seconds"] = time.perf_counter() - began
            result["conditions"] = measured
            return result
    return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-5:], "conditions": measured}


def print_table(report: dict[str, Any]) -> None:
    header = (f"{'backend':<16}{'conc':>5}{'TTFT p50':>10}{'TTFT p95':>10}{'tok/s/str':>11}"
              f"{'agg tok/s':>11}{'RSS MiB':>9}  {'load before/after':<18}{'conditions'}")
    print(header + "\n" + "-" * len(header))
    for name, result in report["backends"].items():
        if "error" in result:
            print(f"{name:<16} failed: {result['error'][-1] if result['error'] else '?'}")
            continue
        for level, r in result["levels"].items():
            print(f"{name:<16}{level:>5}{r['ttft_p50_ms']:>9.0f}m{r['ttft_p95_ms']:>9.0f}m"
                  f"{r['decode_tok_s_per_stream']:>11.1f}{r['aggregate_tok_s']:>11.1f}{result['peak_rss_mib']:>9.0f}"
                  f"  {row_conditions(result.get('conditions'))}")
    for key, value in report["summary"].items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    verdict = report["conditions"]
    if verdict["under_load"]:
        print("UNDER LOAD: these are not idle figures (" + "; ".join(verdict["why_under_load"]) + ")")
    else:
        print("idle: load average and other processes' CPU stayed under the limits for every row")


def row_conditions(c: dict[str, Any] | None) -> str:
    if not c:
        return ""
    load = f"{c['load_average_before'][0]:.2f}/{c['load_average_after'][0]:.2f}"
    others = c["other_processes_cores"]
    state = "UNDER LOAD" if c["under_load"] else "idle"
    return f"{load:<18}{state}" + (f" (others {others:.2f} cores)" if others is not None else "")


def summary(report: dict[str, Any], levels: list[int]) -> dict[str, Any]:
    b, out = report["backends"], {}
    one, top = str(levels[0]), str(levels[-1])
    try:
        out["int8_vs_torch_decode_ratio"] = (b["onnx-int8"]["levels"][one]["decode_tok_s_per_stream"]
                                             / b["torch-cpu"]["levels"][one]["decode_tok_s_per_stream"])
        int8 = b["onnx-int8"]["levels"]
        out[f"int8_aggregate_{top}_vs_{one}"] = int8[top]["aggregate_tok_s"] / int8[one]["aggregate_tok_s"]
        out["int8_ttft_p50_ms_single"] = int8[one]["ttft_p50_ms"]
    except KeyError:
        pass
    if "onnx-int4" in b and "onnx-int8" in b:
        try:
            out["int4_vs_int8_decode_ratio"] = (b["onnx-int4"]["levels"][one]["decode_tok_s_per_stream"]
                                                / b["onnx-int8"]["levels"][one]["decode_tok_s_per_stream"])
        except KeyError:
            pass
    ppl = report.get("perplexity", {})
    for precision in ("fp32", "int8", "int4"):
        if precision in ppl:
            out[f"perplexity_{precision}"] = ppl[precision]
        if f"{precision}_vs_fp32" in ppl:
            out[f"perplexity_{precision}_vs_fp32"] = ppl[f"{precision}_vs_fp32"]
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    passthrough = ["--tokens", str(args.tokens), "--concurrency", args.concurrency,
                   "--ppl-replies", str(args.ppl_replies), "--data", str(args.data)]
    passthrough += ["--quick"] if args.quick else []
    passthrough += ["--models-dir", str(args.models_dir)] if args.models_dir else []
    before = conditions.load_average()
    report: dict[str, Any] = {
        "bench": "generate", "args": {k: str(v) for k, v in vars(args).items() if k != "worker"},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backends": {name: spawn(args, name, passthrough) for name in pick_backends(args)},
    }
    report["perplexity"] = spawn(args, "perplexity", passthrough) if args.ppl_replies else {}
    report["summary"] = summary(report, args.levels)
    parts = [b["conditions"] for b in report["backends"].values()]
    parts += [report["perplexity"]["conditions"]] if report["perplexity"] else []
    report["conditions"] = {"load_average_before": before, "load_average_after": conditions.load_average(),
                            "cpus": conditions.cpus(), **conditions.combine(parts)}
    report["summary"]["under_load"] = report["conditions"]["under_load"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
