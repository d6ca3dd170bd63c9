"""Acceptance: simulated users rate replies by a hidden rule; the loop learns it and hot-swaps live.

A tiny Llama with a repertoire of replies of very different lengths is exported through the
real `models prepare` path and served by the real onnx generator. Users like short replies
(the trainer never sees that rule, only /good and /bad). One loop iteration exports, trains,
gates and promotes while other users keep talking; the bot takes up the new model without
losing or repeating a message, and on held-out prompts its replies please the rule more often.

The outcome is reproducible run to run: every reply is sampled with a seed derived from its
prompt, the simulated users' conversations do not depend on timing, the live users who keep
talking during the iteration have opted out of training data, and training is seeded (see
docs/learning-loop.md, "Reproducibility").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from interplay.core import model_registry as registry
from interplay.core.store import SQLiteStore
from interplay.testing import run_bot
from interplay.trainer.loop.runner import run_iteration
from interplay.trainer.loop.simulate import ShortReplyRule, mean_length, prompts, simulate

RULE = ShortReplyRule(max_chars=30)  # "Sure!", "Happy to help.", "Good question, let me think."


def bot_args(root: Path, data: Path, **loop: Any) -> dict[str, Any]:
    # max_batch 1: a row's logits then never depend on which other requests share its decode
    # step (left padding changes the order of float sums), so a seeded reply is exactly reproducible
    onnx = {"model_dir": str(root), "precision": "fp32", "temperature": 0.7, "max_new_tokens": 40,
            "threads": 1, "max_batch": 1, "system_prompt": ""}
    config = {"interplay": {"data_dir": str(data)},
              # ~16 golden replies: per-token perplexity moves a few percent by sampling noise alone;
              # test_gate.py checks that a really worse model is still rejected
              "loop": {"max_perplexity_increase": 0.1, "watch_interval": 0.1, "variants": ["fp32"],
                       "method": "lora", "epochs": 3, "learning_rate": 1e-3, "lora_rank": 8, "threads": 1,
                       # both of the tiny model's 2 layers: the default top half is one layer here
                       "lora_layers": 1.0, **loop}}
    return {"generator": "onnx", "settings": {"onnx": onnx}, "config": config}


def digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]


async def keep_talking(bot: Any, stop: asyncio.Event, replies: list[Any]) -> None:
    """Other users chatting while the loop trains and swaps.

    They opted out of training data, so what the export sees does not depend on how many of
    their messages arrive before it (a repeated prompt would otherwise be an implicit rephrase
    signal, i.e. feedback, on their replies).
    """
    for n in range(3):
        await bot.say("/optout", conversation=f"live{n}", user="live")
    n = 0
    while not stop.is_set():
        replies.append(await bot.say(prompts(1, seed=100 + n)[0], conversation=f"live{n % 3}", user="live"))
        n += 1


async def held_out_replies(bot: Any) -> list[str]:
    return [(await bot.say(p, conversation=f"held{i}", user="judge")).text
            for i, p in enumerate(prompts(60, seed=3, held_out=True))]


@pytest.mark.usefixtures("prompt_seeded_sampling")
async def test_the_loop_learns_the_hidden_rule_and_swaps_without_losing_messages(
    tiny_root: Path, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "interplay.sqlite3")
    async with run_bot(store=store, **bot_args(tiny_root, tmp_path)) as bot:
        old_version = bot.bot.generator.model_version
        counts = await simulate(bot.say, RULE, prompts(200, seed=2))
        assert counts["good"] > 20 and counts["bad"] > 20  # the old model pleases some, not all
        stop, live = asyncio.Event(), []
        talking = asyncio.create_task(keep_talking(bot, stop, live))
        result = await run_iteration(bot.bot.config, bot.store)
        if not result.promoted:
            stop.set()
            await talking
            pytest.fail(f"not promoted: {result}")
        for _ in range(300):  # the watcher takes the promotion up within a few ticks
            if live and live[-1].model_version != old_version:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await talking
        new_replies = await held_out_replies(bot)
        new_version = bot.bot.generator.model_version
        sent = Counter(r.reply.message_id for r in bot.channel.sent)
        exchanges = await bot.store.exchanges()
        registry.rollback(tiny_root)  # `interplay models rollback`: the bot swaps back
        for _ in range(200):
            if bot.bot.generator.model_version == old_version:
                break
            await asyncio.sleep(0.05)
        assert (await bot.say("back?", conversation="after")).reply.model_version == old_version

    assert result.promoted and result.report.passed, result.report
    assert json.loads((result.version / "gate.json").read_text())["passed"]
    assert new_version != old_version and new_version.startswith("tiny-ft-fp32-")
    versions = [r.model_version for r in live]
    assert old_version in versions and new_version in versions  # messages flowed across the swap
    assert versions.index(new_version) > 0 and versions[-1] == new_version
    talk = [(m, reply) for m, reply in exchanges if not m.text.startswith("/")]  # commands: no stored reply
    assert all(n == 1 for n in sent.values()) and all(reply is not None for _, reply in talk)  # none lost
    assert all(sent[m.id] == 1 for m, _ in talk)  # and none answered twice
    assert {r.model_version for _, r in exchanges if r and r.source == "generator:onnx"} <= {
        old_version, new_version}

    async with run_bot(**bot_args(tiny_root, tmp_path / "old", hot_swap=False)) as old_bot:
        old_replies = await held_out_replies(old_bot)
    simulated = [text for *_, text in sorted((m.conversation_id, m.time, reply.text) for m, reply in talk
                                            if m.conversation_id.startswith("sim-"))]
    new, old = result.report.candidate, result.report.incumbent
    # one line per run, so repeated runs can be compared (`pytest -s`)
    print(f"\nratings {counts['good']} good / {counts['bad']} bad (replies {digest(simulated)}); "
          f"gate perplexity {new['perplexity']:.4f} vs {old['perplexity']:.4f}, "
          f"feedback score {new['feedback_score']:+.4f} vs {old['feedback_score']:+.4f}; "
          f"held-out rule score {RULE.score(old_replies):.2f} -> {RULE.score(new_replies):.2f}, "
          f"mean length {mean_length(old_replies):.1f} -> {mean_length(new_replies):.1f} chars "
          f"(replies {digest(old_replies)} -> {digest(new_replies)}); {len(live)} live replies")
    assert RULE.score(new_replies) > RULE.score(old_replies) + 0.1
    assert mean_length(new_replies) < mean_length(old_replies)
