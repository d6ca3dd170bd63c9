"""The learning loop over rounds with the real default generator (SmolLM2-135M-Instruct, int8 ONNX).

Each round, simulated users chat with the model the bot serves *now* and rate every reply with
/good or /bad by a preference the trainer never sees; then one `interplay loop` iteration runs
while the bot keeps serving: export -> LoRA SFT+KTO from the served weights -> ONNX export of
the served variant -> gate (golden perplexity, preference test, degeneration checks) -> promote
-> hot swap. The next round starts from what is served. Per round it prints and writes the
rule's score on held-out prompts before and after, golden perplexity, the degeneration figures,
promoted or not, and seconds per phase, with the load average.

    python bench/loop.py --rule question --rounds 3     # one rule, 3 rounds
    python bench/loop.py --rule random --rounds 3       # the negative control: random ratings
    python bench/loop.py --all                          # short, question, apology, then random
    python bench/loop.py --quick                        # 1 round of 64 items: a smoke run

Rules (trainer/loop/simulate.py): short (at most the length 40% of the served replies meet),
name (short replies that use the person's name), question (end with a question), no-markdown,
apology (apologise first when the person complains, not otherwise), random (a coin flip).

Needs a prepared generator (`interplay models prepare --only onnx`). Nothing is written to
the prepared model: the bench serves it from a scratch model root that links to its variants.
Results: bench/results/loop_rounds.json (one entry per rule) and loop_rounds.png.
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

from conditions import Conditions  # bench/ is not a package: its sibling module, by path

RESULTS = Path(__file__).parent / "results" / "loop_rounds.json"
ALL = ("short", "question", "apology", "random")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", default="question",
                        choices=("short", "name", "question", "no-markdown", "apology", "random"))
    parser.add_argument("--all", action="store_true", help=f"run {', '.join(ALL)} one after another")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round, 64 feedback items, 16 held-out")
    parser.add_argument("--feedback", type=int, default=200, help="feedback items per round")
    parser.add_argument("--held-out", type=int, default=48, help="held-out prompts scored each round")
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens per reply")
    parser.add_argument("--wrap-up", type=int,
                        help="[onnx] wrap_up_tokens: past this many tokens a reply ends at its next "
                             "sentence end, as the served bot's replies do (default: the plugin's, 80)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch and ONNX Runtime threads (0: all cores)")
    parser.add_argument("--lr", type=float, help="[loop] learning_rate (default: the config's)")
    parser.add_argument("--golden-fraction", type=float, default=0.2,
                        help="[loop] golden_fraction: conversations held out for the gate")
    parser.add_argument("--kl-weight", type=float, help="[loop] kl_weight (default: the config's)")
    parser.add_argument("--epochs", type=int, help="[loop] epochs (default: the config's)")
    parser.add_argument("--min-steps", type=int, help="[loop] min_steps (default: the config's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.feedback, args.held_out = 1, 64, 16
    return args


def scratch_root(prepared: Path, where: Path) -> Path:
    """A model root whose variants are links to the prepared ones: promotions land here."""
    root = where / "generator"
    root.mkdir(parents=True)
    for precision in ("fp32", "int8", "fp16"):
        if (prepared / precision).is_dir():
            (root / precision).symlink_to(prepared / precision)
    return root


def settings(root: Path, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    # shared CPUs: a reply may wait long for its turn; a timeout would turn it into a fallback
    onnx = {"model_dir": str(root), "max_new_tokens": args.tokens, "temperature": 0.7, "max_batch": 16,
            "timeout": 1800, **({"threads": args.threads} if args.threads else {}),
            **({"wrap_up_tokens": args.wrap_up} if args.wrap_up is not None else {})}
    # a fifth of the conversations held out: a golden set of ~30 rated replies from the first round's
    # 150 (at 0.1, the default, hash luck left fewer than the 8 it needs), and more power for the
    # gate's preference test
    loop_cfg = {"watch_interval": 0.5, "threads": args.threads, "min_new_feedback": 1,
                "golden_fraction": args.golden_fraction, **({"learning_rate": args.lr} if args.lr else {}),
                **({"kl_weight": args.kl_weight} if args.kl_weight is not None else {}),
                **({"epochs": args.epochs} if args.epochs else {}),
                **({"min_steps": args.min_steps} if args.min_steps is not None else {})}
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


async def candidate_replies(version: Path, work: Path, args: argparse.Namespace,
                            held: list[str]) -> list[str]:
    """Held-out replies of a candidate the gate rejected, from a separate bot (never served)."""
    from interplay.testing import run_bot

    options = settings(version, work, args)
    options["config"]["loop"]["hot_swap"] = False
    async with run_bot(**options) as side:
        return await replies_for(side, held, "cand-")


def make_rule(name: str, calibration: list[str]) -> Any:
    from interplay.trainer.loop.simulate import RULES, NameRule, ShortReplyRule

    if name == "short":
        return ShortReplyRule.calibrated(calibration)
    if name == "name":
        return NameRule(ShortReplyRule.calibrated(calibration, share=0.6).max_chars)
    return RULES[name]()


async def run_rule(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from interplay.core.config import load_config
    from interplay.core.store import SQLiteStore
    from interplay.plugins.onnx_generator import OnnxGenerator
    from interplay.testing import run_bot
    from interplay.trainer.loop.runner import describe, run_iteration
    from interplay.trainer.loop.simulate import RULES, mean_length, prompts, simulate

    prepared = OnnxGenerator.model_home.root(load_config().models_dir)
    root = scratch_root(prepared, work / "models")
    style = RULES[name].style
    held = prompts(args.held_out, seed=3, held_out=True, style=style)
    store = SQLiteStore(work / "interplay.sqlite3")
    rounds: list[dict[str, Any]] = []
    async with run_bot(store=store, **settings(root, work, args)) as bot:
        start_version = bot.bot.generator.model_version
        rule = make_rule(name, await replies_for(bot, prompts(24, seed=1, style=style), "cal"))
        print(f"rule: {rule.describe()}", flush=True)
        before = await replies_for(bot, held, "held-start-")
        for number in range(1, args.rounds + 1):
            conditions = Conditions()
            entry: dict[str, Any] = {"round": number, "load_average_start": os.getloadavg(),
                                     "served": bot.bot.generator.model_version}
            clock = time.perf_counter()
            entry["feedback"] = await simulate(lambda *a, **k: bot.say(*a, timeout=1800, **k), rule,
                                               prompts(args.feedback, seed=10 + number, style=style),
                                               concurrency=16, users=32, tag=f"r{number}")
            seconds = {"collect feedback": time.perf_counter() - clock}
            clock = time.perf_counter()
            served = bot.bot.generator.model_version
            result = await run_iteration(bot.bot.config, bot.store)
            while result.promoted and bot.bot.generator.model_version == served:  # noqa: ASYNC110
                await asyncio.sleep(0.2)  # the bot's registry watcher does the swap
            seconds |= {f"iteration: {k}": v for k, v in result.seconds.items()}
            seconds["iteration total (incl. hot swap)"] = time.perf_counter() - clock
            print(describe(result), flush=True)
            after = await replies_for(bot, held, f"held-r{number}-") if result.promoted else before
            candidate = after
            if not result.promoted and result.version is not None:  # what did the rejected one learn?
                candidate = await candidate_replies(result.version, work / f"cand{number}", args, held)
            report = result.report
            entry |= {
                "rule_score_before": rule.score(before, held), "rule_score_after": rule.score(after, held),
                "candidate_rule_score": rule.score(candidate, held),
                "mean_chars_before": mean_length(before), "mean_chars_after": mean_length(after),
                "promoted": result.promoted, "seconds": seconds,
                "golden_perplexity": {"candidate": report.candidate["perplexity"],
                                      "incumbent": report.incumbent["perplexity"]} if report else None,
                "degeneration": report.degeneration if report else None,
                "gate": report.reasons if report else [result.skipped],
                "examples_after": after[:3], "load_average_end": os.getloadavg(),
                "conditions": round_conditions(conditions, number),
            }
            rounds.append(entry)
            print(round_table(entry), flush=True)
            before = after
        final_version = bot.bot.generator.model_version
    return {"rule": rule.describe(), "rounds": rounds, "start_version": start_version,
            "final_version": final_version, "served_changed": final_version != start_version,
            "settings": {"feedback_per_round": args.feedback, "held_out": args.held_out,
                         "max_new_tokens": args.tokens, "wrap_up_tokens": args.wrap_up,
                         "threads": args.threads, "learning_rate": args.lr,
                         "kl_weight": args.kl_weight, "epochs": args.epochs, "min_steps": args.min_steps,
                         "golden_fraction": args.golden_fraction}}


def round_conditions(conditions: Conditions, number: int) -> dict[str, Any]:
    """A round's conditions. From round 2 on, the load average before the round counts this bench's
    own previous round (its 2 threads), so only other processes' CPU can say it was under load."""
    measured = conditions.finish()
    if number > 1:
        kept = [r for r in measured["why_under_load"] if not r.startswith("load average")]
        measured["why_under_load"] = kept
        measured["under_load"] = bool(measured["why_under_load"])
    return measured


def round_table(entry: dict[str, Any]) -> str:
    lines = [f"round {entry['round']}: rule score {entry['rule_score_before']:.2f} -> "
             f"{entry['rule_score_after']:.2f} (candidate {entry['candidate_rule_score']:.2f}), "
             f"promoted {entry['promoted']}, feedback {entry['feedback']}, "
             f"load {entry['load_average_start'][0]:.2f} -> {entry['load_average_end'][0]:.2f}, "
             f"other processes {entry['conditions']['other_processes_cores']} cores"
             + (" (UNDER LOAD)" if entry["conditions"]["under_load"] else "")]
    lines += [f"  {name:40} {secs:8.1f} s" for name, secs in entry["seconds"].items()]
    if entry["golden_perplexity"]:
        g = entry["golden_perplexity"]
        lines.append(f"  golden perplexity {g['incumbent']:.3f} -> {g['candidate']:.3f}")
    if entry["degeneration"]:
        cand, start = entry["degeneration"]["candidate"], entry["degeneration"]["start"]
        lines.append("  degeneration (candidate / start): " + ", ".join(
            f"{k} {cand[k]:.3f}/{start[k]:.3f}" for k in cand if k != "replies"))
    lines += [f"  gate: {r}" for r in entry["gate"]]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, run in results.items():
        if not run.get("rounds"):
            continue
        scores = [run["rounds"][0]["rule_score_before"], *(r["rule_score_after"] for r in run["rounds"])]
        promoted = [False, *(r["promoted"] for r in run["rounds"])]
        line = ax.plot(range(len(scores)), scores, marker="o", label=f"{name}: served")[0]
        tried = [(i + 1, r["candidate_rule_score"]) for i, r in enumerate(run["rounds"])
                 if "candidate_rule_score" in r]
        if tried:
            ax.plot(*zip(*tried, strict=True), linestyle="--", marker="x", color=line.get_color(),
                    label=f"{name}: candidate")
        ax.scatter([i for i, p in enumerate(promoted) if p], [s for s, p in zip(scores, promoted, strict=True)
                                                             if p], s=80, facecolors="none", edgecolors="k")
    ax.set_xlabel("round (circled: promoted; x: the candidate, promoted or not)")
    ax.set_ylabel("held-out rule score")
    ax.set_ylim(0, 1)
    ax.set_title("Interplay learning loop, SmolLM2-135M int8, 2-core CPU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names = ALL if args.all else (args.rule,)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name in names:
        wall, cpu = time.perf_counter(), time.process_time()
        with tempfile.TemporaryDirectory(prefix="interplay-bench-loop-") as tmp:
            started = Conditions()
            run = asyncio.run(run_rule(name, args, Path(tmp)))
            run["_conditions"] = started
        # other processes' CPU during the run (bench/conditions.py): the load average after the run
        # counts the bench's own threads, so it alone cannot tell idle from loaded
        conditions = run.pop("_conditions").finish()
        share = (time.process_time() - cpu) / ((time.perf_counter() - wall) * (os.cpu_count() or 1))
        run["machine"] = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "gpu": None,
                          **conditions, "quick": args.quick, "cpu_share": share}
        results[name if not args.quick else f"{name} (quick)"] = run
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        plot(results, args.out.with_suffix(".png"))
        first, last = run["rounds"][0], run["rounds"][-1]
        print(f"{name}: held-out score {first['rule_score_before']:.2f} -> {last['rule_score_after']:.2f} "
              f"after {len(run['rounds'])} rounds; promoted {[r['promoted'] for r in run['rounds']]}; "
              f"served model changed: {run['served_changed']}")
    print(f"written {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
