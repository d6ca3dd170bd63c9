"""Telegram channel under load: C chats x N messages through the fake Bot API server.

Every message is pushed at once (interleaved across chats), fetched by the real
python-telegram-bot client (long polling, or the fake's webhook pump), answered by the echo
generator and checked: each chat must get each answer exactly once, in order. The baseline
sends the same messages through the core's in-memory fake channel (no HTTP, same store), so
the difference is what Telegram's protocol costs. Prints a table and writes
bench/results/telegram_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from interplay.core.store import SQLiteStore
from interplay.plugins.telegram.testing.loadtest import run_load
from interplay.testing import run_bot

RESULTS = Path(__file__).parent / "results" / "telegram_load.json"


async def run_baseline(chats: int, per_chat: int, workdir: Path) -> dict:
    """The same messages through the core's fake channel: the bus, the store and echo, no HTTP."""
    async with run_bot(store=SQLiteStore(workdir / "baseline.sqlite3")) as bot:
        channel = bot.channel
        started = time.monotonic()
        futures, pushed = [], []
        for i in range(per_chat):
            for chat in range(1, chats + 1):
                pushed.append(time.time())  # Reply.time is wall-clock time
                futures.append(await channel.submit(channel.message(f"c{chat} m{i}", str(chat), str(chat))))
        replies = await asyncio.wait_for(asyncio.gather(*futures), 600)
        seconds = time.monotonic() - started
    by_chat: dict[str, list[str]] = {}
    for reply in channel.sent:
        by_chat.setdefault(reply.reply.conversation_id, []).append(reply.text)
    ok = all(by_chat.get(str(c)) == [f"c{c} m{i}" for i in range(per_chat)] for c in range(1, chats + 1))
    total = chats * per_chat
    lat = sorted(r.reply.time - p for r, p in zip(replies, pushed, strict=True))
    return {"mode": "baseline (fake channel)+sqlite", "chats": chats, "per_chat": per_chat,
            "messages": total, "seconds": round(seconds, 2), "msgs_per_s": round(total / seconds, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(lat[int(total * 0.95) - 1] * 1000, 1),
            "answered_once_in_order": ok and len(channel.sent) == total, "problems": []}


async def measure(chats: int, per_chat: int, modes: list[str]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            started = time.process_time()
            if mode == "baseline":
                row = await run_baseline(chats, per_chat, Path(tmp))
            else:
                row = (await run_load(chats, per_chat, mode=mode, workdir=Path(tmp))).row()
            row["cpu_s"] = round(time.process_time() - started, 2)
            rows.append(row)
            print(f"  measured {row['mode']}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 chats x 10 messages instead of 200 x 20")
    parser.add_argument("--chats", type=int)
    parser.add_argument("--per-chat", type=int)
    parser.add_argument("--modes", default="baseline,polling,webhook")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chats = args.chats or (50 if args.quick else 200)
    per_chat = args.per_chat or (10 if args.quick else 20)
    rows = asyncio.run(measure(chats, per_chat, args.modes.split(",")))
    base = rows[0]["msgs_per_s"]
    print(f"{'mode':<32}{'msgs':>7}{'seconds':>9}{'msgs/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'cpu s':>7}"
          f"{'vs first':>9}  once+in order")
    for r in rows:
        print(f"{r['mode']:<32}{r['messages']:>7}{r['seconds']:>9}{r['msgs_per_s']:>9}{r['p50_ms']:>9}"
              f"{r['p95_ms']:>9}{r['cpu_s']:>7}{r['msgs_per_s'] / base:>9.2f}  {r['answered_once_in_order']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    args.out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average_at_end": load, "quick": args.quick, "rows": rows,
    }, indent=2) + "\n")
    print(f"wrote {args.out}")
    if not all(r["answered_once_in_order"] for r in rows):
        sys.exit("some chat did not get every answer exactly once, in order")


if __name__ == "__main__":
    main()
