"""Throughput and latency through the whole bus vs a bare asyncio.Queue pipeline.

Each of C conversations sends its next message as soon as the previous reply arrives (a
closed loop, so C is the number of concurrent conversations). The bus runs the echo
generator and two no-op analyzers; the baseline does the same awaits with plain queues and
no store. Prints a table and writes bench/results/bus.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

from interplay.core import Analyzer, Annotation, Message, hookimpl
from interplay.core.runner import run
from interplay.core.store import MemoryStore, SQLiteStore
from interplay.testing import run_bot

RESULTS = Path(__file__).parent / "results" / "bus.json"


class NoopA(Analyzer):
    name = "noop_a"

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "x")


class NoopB(NoopA):
    name = "noop_b"


_plugin = SimpleNamespace(register_analyzers=hookimpl(lambda register: (register(NoopA), register(NoopB))))


async def _drive(say, conversations: int, per_conversation: int) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def talk(c: int) -> None:
        for i in range(per_conversation):
            t = time.perf_counter()
            await say(f"message {i} from {c}", f"c{c}")
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(talk(c) for c in range(conversations)))
    return time.perf_counter() - start, latencies


async def run_bus(store_kind: str, conversations: int, per_conversation: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite3") if store_kind == "sqlite" else MemoryStore()
        async with run_bot(_plugin, analyzers=["noop_a", "noop_b"], store=store, installed=False) as bot:
            channel = bot.channel

            async def say(text: str, conv: str) -> None:
                await (await channel.submit(channel.message(text, conv, user=conv)))  # one person each
                channel.sent.clear()

            return await _drive(say, conversations, per_conversation)


async def run_baseline(conversations: int, per_conversation: int) -> tuple[float, list[float]]:
    """The same awaits (two analyzers, a streamed echo, a send) over plain asyncio.Queues."""
    analyzers = [NoopA.__new__(NoopA), NoopB.__new__(NoopB)]
    queues = {f"c{c}": asyncio.Queue() for c in range(conversations)}

    async def stream(text: str) -> AsyncIterator[str]:
        for i, word in enumerate(text.split(" ")):
            yield word if i == 0 else " " + word

    async def worker(queue: asyncio.Queue) -> None:
        while True:
            message, done = await queue.get()
            await asyncio.gather(*(a.analyze(message) for a in analyzers))
            text = "".join([d async for d in stream(message.text)])
            done.set_result(text)

    workers = [asyncio.create_task(worker(q)) for q in queues.values()]
    loop = asyncio.get_running_loop()

    async def say(text: str, conv: str) -> None:
        done = loop.create_future()
        await queues[conv].put((Message("bench", conv, "u", text), done))
        await done

    try:
        return await _drive(say, conversations, per_conversation)
    finally:
        for w in workers:
            w.cancel()


def measure(kind: str, conversations: int, total: int, repeats: int) -> dict:
    per = max(1, total // conversations)
    runs = []
    for _ in range(repeats):
        gc.collect()
        if kind == "baseline":
            elapsed, lat = run(run_baseline(conversations, per))
        else:
            elapsed, lat = run(run_bus(kind, conversations, per))
        runs.append((len(lat) / elapsed, lat))
    rate, lat = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
    lat.sort()
    return {
        "pipeline": kind,
        "conversations": conversations,
        "messages": len(lat),
        "msgs_per_s": round(rate),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 3),
        "runs": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and repeats")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    total, repeats = (4000, 1) if args.quick else (20000, 3)
    rows = []
    for conversations in (1, 100, 1000):
        n = min(total, 2000) if conversations == 1 else total
        for kind in ("baseline", "memory", "sqlite"):
            rows.append(measure(kind, conversations, n, repeats))
            print(f"  measured {kind} at {conversations} conversations", file=sys.stderr)
    base = {r["conversations"]: r["msgs_per_s"] for r in rows if r["pipeline"] == "baseline"}
    for r in rows:
        r["vs_baseline"] = round(r["msgs_per_s"] / base[r["conversations"]], 3)
    print(f"{'pipeline':<10}{'convs':>7}{'msgs':>8}{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs base':>9}")
    for r in rows:
        print(
            f"{r['pipeline']:<10}{r['conversations']:>7}{r['messages']:>8}{r['msgs_per_s']:>10}"
            f"{r['p50_ms']:>10}{r['p99_ms']:>10}{r['vs_baseline']:>9}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "quick": args.quick,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
