"""One learning-loop iteration with the real default generator (SmolLM2-135M-Instruct, int8 ONNX).

Simulated users talk to a running bot and rate each reply with /good or /bad by a rule the
trainer never sees (they like short replies: at most the length that 40% of the served
model's replies meet). Then one `interplay loop` iteration runs while the bot keeps serving:
export -> LoRA SFT+KTO -> ONNX export (int8, fp16) -> gate -> promote -> hot swap. Reported:
seconds per phase, and the rule's score and mean reply length on held-out prompts, before
(baseline: the model served before the iteration) and after, in the same run.

    python bench/loop.py            # 500 feedback items, about 10+ minutes on 2 cores
    python bench/loop.py --quick    # 100 feedback items, a few minutes

Needs a prepared generator (`interplay models prepare --only generator`). Nothing is written to
the prepared model: the bench serves it from a scratch model root that links to its variants.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "loop.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 feedback items, fewer steps")
    parser.add_argument("--feedback", type=int, help="feedback items to collect (default 500, quick 100)")
    parser.add_argument("--held-out", type=int, help="held-out prompts scored before/after (default 48)")
    parser.add_argument("--tokens", type=int, help="max new tokens per reply (default 48, quick 32)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, help="optimizer steps (default: one epoch; quick 12)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch and ONNX Runtime threads (0: all cores; 1 on a CPU shared with others)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def scratch_root(prepared: Path, where: Path) -> Path:
    """A model root whose variants are links to the prepared ones: promotions land here."""
    root = where / "generator"
    root.mkdir(parents=True)
    for precision in ("fp32", "int8", "fp16"):
        if (prepared / precision).is_dir():
            (root / precision).symlink_to(prepared / precision)
    return root


def settings(root: Path, data: Path, args: argparse.Namespace, **loop: Any) -> dict[str, Any]:
    # shared, busy CPUs: a reply may wait long for its turn; a timeout would turn it into a fallback
    onnx = {"model_dir": str(root), "max_new_tokens": args.tokens, "temperature": 0.7, "max_batch": 16,
            "timeout": 1800, **({"threads": args.threads} if args.threads else {})}
    loop_cfg = {"watch_interval": 0.5, "epochs": args.epochs, "threads": args.threads,
                "variants": ["int8"] if args.quick else ["int8", "fp16"], **loop}
    if args.max_steps or args.quick:
        loop_cfg["max_steps"] = args.max_steps or 12
    config = {"interplay": {"data_dir": str(data)}, "loop": loop_cfg, "bus": {"generation_timeout": 1800}}
    return {"generator": "onnx", "settings": {"onnx": onnx}, "config": config}


async def replies_for(bot: Any, texts: list[str], tag: str) -> list[str]:
    """Replies to fresh one-turn conversations, 8 at a time."""
    out: list[str] = [""] * len(texts)

    async def one(i: int) -> None:
        out[i] = (await bot.say(texts[i], conversation=f"{tag}{i}", user="judge", timeout=1800)).text

    for start in range(0, len(texts), 8):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 8, len(texts)))))
    return out


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from interplay.core.config import load_config
    from interplay.core.store import SQLiteStore
    from interplay.testing import run_bot
    from interplay.trainer.loop.runner import describe, run_iteration
    from interplay.trainer.loop.simulate import ShortReplyRule, mean_length, prompts, simulate

    prepared = Path(load_config().models_dir) / "generator"
    root = scratch_root(prepared, work / "models")
    held = prompts(args.held_out, seed=3, held_out=True)
    store = SQLiteStore(work / "interplay.sqlite3")
    times: dict[str, float] = {}
    async with run_bot(store=store, **settings(root, work, args)) as bot:
        old_version = bot.bot.generator.model_version
        clock = time.perf_counter()
        before = await replies_for(bot, held, "before")
        rule = ShortReplyRule.calibrated(await replies_for(bot, prompts(24, seed=1), "cal"))
        times["baseline replies"] = time.perf_counter() - clock
        clock = time.perf_counter()
        counts = await simulate(lambda *a, **k: bot.say(*a, timeout=1800, **k), rule,
                                prompts(args.feedback, seed=2), concurrency=16, users=32)
        times["collect feedback"] = time.perf_counter() - clock
        clock = time.perf_counter()
        result = await run_iteration(bot.bot.config, bot.store)
        times.update({f"iteration: {k}": v for k, v in result.seconds.items()})
        # the bot's registry watcher does the swap; the bench only observes it
        while result.promoted and bot.bot.generator.model_version == old_version:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        times["iteration total (incl. hot swap)"] = time.perf_counter() - clock
        print(describe(result), flush=True)
        after = await replies_for(bot, held, "after") if result.promoted else []
        new_version = bot.bot.generator.model_version
    if not result.promoted and result.version is not None:  # score the rejected candidate anyway
        async with run_bot(**settings(result.version, work / "candidate", args, hot_swap=False)) as bot:
            after = await replies_for(bot, held, "after")
            new_version = f"{bot.bot.generator.model_version} (rejected by the gate)"
    return {
        "feedback": counts, "rule_max_chars": rule.max_chars, "seconds": times,
        "before": {"version": old_version, "rule_score": rule.score(before),
                   "mean_chars": mean_length(before)},
        "after": {"version": new_version, "rule_score": rule.score(after), "mean_chars": mean_length(after)},
        "promoted": result.promoted, "gate": result.report.reasons if result.report else [result.skipped],
        "examples": {"before": before[:3], "after": after[:3]},
    }


def table(report: dict[str, Any]) -> str:
    rows = [f"{'phase':40} {'seconds':>9}"]
    rows += [f"{name:40} {secs:9.1f}" for name, secs in report["seconds"].items()]
    rows.append("")
    rows.append(f"{'held-out prompts':40} {'rule score':>10} {'mean chars':>10}")
    for name in ("before", "after"):
        r = report[name]
        label = f"{name} ({r['version']})"
        rows.append(f"{label:40} {r['rule_score']:10.2f} {r['mean_chars']:10.1f}")
    rows.append(f"\nfeedback {report['feedback']}, rule: at most {report['rule_max_chars']} chars; "
                f"promoted: {report['promoted']}")
    return "\n".join(rows + report["gate"])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.feedback = args.feedback or (100 if args.quick else 500)
    args.held_out = args.held_out or (24 if args.quick else 48)
    args.tokens = args.tokens or (32 if args.quick else 48)
    with tempfile.TemporaryDirectory(prefix="interplay-bench-loop-") as tmp:
        report = asyncio.run(run(args, Path(tmp)))
    report["machine"] = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "gpu": None,
                         "quick": args.quick, "threads": args.threads, "load_average": os.getloadavg()}
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
