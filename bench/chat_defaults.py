"""Chat defaults on the real model: the old prompt and length limit against the new ones.

For each prompt and seed, one sampled reply (temperature 0.7, as served) with the previous
defaults (system prompt "You are Interplay, a friendly assistant in a chat...", 256 tokens, no
wrap-up) and with the current ones. Reports reply length in tokens and words, how replies
ended (end of turn, sentence end, length limit) and how many name an invented setting (a
community, team, store, platform... that nobody mentioned). Writes bench/results/chat_defaults.json.

    python bench/chat_defaults.py            # 22 prompts x 2 seeds x 2 configurations, ~4 minutes
    python bench/chat_defaults.py --quick    # 1 seed

Needs a prepared generator (`interplay models prepare`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import conditions  # bench/ is not a package: its sibling module, by path
from generate import PROMPTS  # the generation bench's prompts, plus some that invite a persona

RESULTS = Path(__file__).parent / "results" / "chat_defaults.json"
PERSONA_PROMPTS = ["Hi! Who are you?", "Where am I?", "What is this place?", "Hello",
                   "Can you introduce yourself?", "What do you do here?"]
OLD = {"system_prompt": "You are Interplay, a friendly assistant in a chat. Answer briefly, clearly and "
                        "kindly.", "max_new_tokens": 256, "wrap_up_tokens": 0}
# a setting the user never mentioned: "our online gaming community", "our team", "welcome to our store"
INVENTED = re.compile(r"\b(community|our (team|store|shop|company|platform|server|website|site|forum"
                      r"|group|club)|welcome to (our|the)|we at|our members)\b", re.IGNORECASE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one seed instead of two")
    parser.add_argument("--models-dir", type=Path, help="default: the configured models_dir")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


async def replies(root: Path, overrides: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """One reply per prompt and seed, as `stream` makes it; one at a time, so `last_finish` is its own."""
    from interplay.core import Conversation, Message, PluginContext
    from interplay.plugins.onnx_generator.generator import OnnxGenerator

    gen = OnnxGenerator(OnnxGenerator.Settings(model_dir=root, precision="int8", **overrides),
                        PluginContext(None, Path("."), None))  # type: ignore[arg-type]
    await gen.start()
    out = []
    try:
        for seed in seeds:
            for text in [*PERSONA_PROMPTS, *PROMPTS]:
                prompt = gen.prompts.build(Conversation("bench", Message("bench", "bench", "bench", text)))
                stream = gen.stream_ids(prompt, gen.sampling(seed=seed), wrap_up=gen.settings.wrap_up_tokens)
                reply = "".join([d async for d in stream])
                out.append({"seed": seed, "prompt": text, "reply": reply,
                            "tokens": len(gen.tokenizer.encode(reply)), "words": len(reply.split()),
                            "finish": gen.last_finish, "invented_setting": bool(INVENTED.search(reply))})
    finally:
        await gen.stop()
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    finishes: dict[str, int] = {}
    for r in rows:
        finishes[str(r["finish"])] = finishes.get(str(r["finish"]), 0) + 1
    return {"replies": len(rows), "tokens_p50": statistics.median(r["tokens"] for r in rows),
            "tokens_max": max(r["tokens"] for r in rows),
            "words_p50": statistics.median(r["words"] for r in rows),
            "finish": finishes, "invented_setting": sum(r["invented_setting"] for r in rows)}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from interplay.core import load_config
    from interplay.plugins.onnx_generator import OnnxGenerator

    root = OnnxGenerator.model_home.root(args.models_dir or load_config().models_dir)
    seeds = [1] if args.quick else [1, 2]
    watch, began = conditions.Conditions(), time.perf_counter()
    report: dict[str, Any] = {"bench": "chat_defaults", "seeds": seeds, "old_defaults": OLD}
    for name, overrides in (("old", OLD), ("new", {})):
        rows = asyncio.run(replies(root, overrides, seeds))
        report[name] = {"summary": summarize(rows), "replies": rows}
    report["seconds"] = time.perf_counter() - began
    report["conditions"] = watch.finish()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"{'defaults':<10}{'replies':>8}{'tok p50':>9}{'tok max':>9}{'words p50':>11}{'invented':>10}"
          "  finish")
    for name in ("old", "new"):
        s = report[name]["summary"]
        print(f"{name:<10}{s['replies']:>8}{s['tokens_p50']:>9.0f}{s['tokens_max']:>9}{s['words_p50']:>11.0f}"
              f"{s['invented_setting']:>10}  {s['finish']}")
    c = report["conditions"]
    print(f"load average {c['load_average_before'][0]} -> {c['load_average_after'][0]}; "
          + ("UNDER LOAD" if c["under_load"] else "idle") + f"; wrote {args.out}")


if __name__ == "__main__":
    main()
