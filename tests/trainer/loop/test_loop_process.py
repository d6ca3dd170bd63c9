"""`interplay loop` in its own process, beside a running bot: feedback in, promotion out, live swap.

The bot (in this process) stores conversations and /good, /bad in a SQLite file; `interplay loop
--once --force` (a separate OS process, the real CLI) reads that file, trains, gates and promotes;
the bot's registry watcher swaps to the new model while users keep talking. Nothing is lost or
answered twice. The data is the seeded simulation of test_loop_end_to_end.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
from interplay.core.store import SQLiteStore
from interplay.testing import run_bot
from interplay.trainer.loop.simulate import prompts, simulate

from .test_loop_end_to_end import RULE, bot_args, keep_talking


def config_file(path: Path, root: Path, data: Path) -> Path:
    args = bot_args(root, data)
    onnx, loop = args["settings"]["onnx"], args["config"]["loop"]

    def toml(table: dict) -> str:
        return "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
                         for k, v in table.items())

    path.write_text(f'[interplay]\ndata_dir = "{data}"\n\n[pipeline]\ngenerator = "onnx"\n\n'
                    f"[plugins.onnx]\n{toml(onnx)}\n\n[loop]\n{toml(loop)}\n", encoding="utf-8")
    return path


@pytest.mark.timeout(900)  # two processes training and serving on 2 shared cores
@pytest.mark.usefixtures("prompt_seeded_sampling")
async def test_interplay_loop_beside_the_running_bot_promotes_and_the_bot_swaps_live(
    tiny_root: Path, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "models" / "generator"
    shutil.copytree(tiny_root, root)  # its own model root: the other loop test promotes into tiny_root
    config = config_file(tmp_path / "config.toml", root, tmp_path)
    store = SQLiteStore(tmp_path / "interplay.sqlite3")
    async with run_bot(store=store, **bot_args(root, tmp_path)) as bot:
        old_version = bot.bot.generator.model_version
        await simulate(bot.say, RULE, prompts(200, seed=2))
        stop, live = asyncio.Event(), []
        talking = asyncio.create_task(keep_talking(bot, stop, live))
        loop = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "interplay.core", "loop", "--once", "--force", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(loop.communicate(), timeout=600)
        text = output.decode(errors="replace")
        for _ in range(300):
            if live and live[-1].model_version != old_version:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await talking
        new_version = bot.bot.generator.model_version
        sent = Counter(r.reply.message_id for r in bot.channel.sent)
        exchanges = await bot.store.exchanges()
    assert loop.returncode == 0, text[-2000:]
    assert "promoted" in text and "rejected" not in text, text[-2000:]
    assert new_version != old_version and new_version.startswith("tiny-ft-fp32-")
    versions = [r.model_version for r in live]
    assert old_version in versions and versions[-1] == new_version  # swapped while users talked
    talk = [(m, reply) for m, reply in exchanges if not m.text.startswith("/")]
    assert all(reply is not None for _, reply in talk)  # none lost
    assert all(sent[m.id] == 1 for m, _ in talk)  # none answered twice
