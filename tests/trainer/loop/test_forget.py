"""`/forget` is complete and exact: no byte of the person's text is left anywhere, others keep theirs."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from interplay.core import Feedback
from interplay.core.store import SQLiteStore
from interplay.testing import run_bot
from interplay.trainer.datasets.export import ExportOptions, export_dataset


async def idle(bot) -> None:  # type: ignore[no-untyped-def]
    """Wait until the bus has nothing queued or in progress."""
    for _ in range(500):
        if not bot.bot.bus.conversations:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the bot did not go idle")


ALICE = b"zebra-quokka-4417"  # what only Alice ever wrote
BOB = b"yak-ibis-2291"


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under `root` whose bytes contain `needle` (the store, its WAL, every dataset)."""
    found = (p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())
    return sorted(str(p.relative_to(root)) for p in found)


async def chat(bot, text: str, conversation: str, user: str) -> None:  # type: ignore[no-untyped-def]
    reply = await bot.say(text, conversation, user)
    await bot.store.add_feedback(Feedback(reply.reply.id, conversation, user, 1.0, channel="fake"))


async def test_forget_leaves_no_copy_in_store_wal_or_datasets_and_keeps_others(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    options = ExportOptions(golden_fraction=0.5, min_golden=1, min_weight=0.0)
    config = {"interplay": {"data_dir": str(tmp_path)}}
    async with run_bot(store=store, config=config, settings={"echo": {"delay": 0.05}}) as bot:
        for i in range(6):  # private chats and a group both are in: enough rows for the golden set
            await chat(bot, f"alice {i} says {ALICE.decode()}", f"alice-dm-{i}", "alice")
            await chat(bot, f"bob {i} says {BOB.decode()}", f"bob-dm-{i}", "bob")
            await chat(bot, f"group alice {i} {ALICE.decode()}", "group", "alice")
            await chat(bot, f"group bob {i} {BOB.decode()}", "group", "bob")
        for _ in range(2):  # two dataset versions and the frozen golden set
            await export_dataset(store, tmp_path / "datasets", options)
        assert (tmp_path / "datasets" / "golden" / "golden.jsonl").is_file()
        assert len(files_holding(tmp_path, ALICE)) >= 4  # the store and several dataset files
        # Alice's last group message waits behind Bob's slow one when she asks to be forgotten
        slow = await bot.channel.submit(bot.channel.message("group bob " + "word " * 20, "group", "bob"))
        await asyncio.sleep(0.1)
        queued = await bot.channel.submit(bot.channel.message(f"late {ALICE.decode()}", "group", "alice"))
        answer = await bot.say("/forget", "alice-dm-0", "alice")
        await asyncio.wait_for(slow, 10)
        await idle(bot)
        assert not queued.done()  # dropped, not answered: its sender is forgotten
        history = [t.text for t in await store.history("group", 100)]
    assert "messages you sent me on fake" in answer.text and "Not covered" in answer.text
    assert files_holding(tmp_path, ALICE) == []
    assert not any("alice" in t for t in history) and any(BOB.decode() in t for t in history)
    assert "store.sqlite3" in files_holding(tmp_path, BOB)
    for name in ("v0001/feedback.jsonl", "v0002/feedback.jsonl", "v0001/unlabeled.csv"):
        assert name in files_holding(tmp_path / "datasets", BOB)
    assert BOB in (tmp_path / "datasets" / "golden" / "golden.jsonl").read_bytes()


async def test_store_and_datasets_are_private_to_the_bot_user(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data" / "store.sqlite3")
    await store.open()
    await export_dataset(store, tmp_path / "data" / "datasets", ExportOptions(golden_fraction=0))
    await store.close()
    for path in [tmp_path / "data" / "store.sqlite3", *(tmp_path / "data" / "datasets").rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
