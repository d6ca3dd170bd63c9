"""Slack channel under load: N signed events over C channels, each answered exactly once.

Slack's side is played over real HTTP on 127.0.0.1, in a child process (as Slack's servers are
not in the bot's process): each channel's events are posted one after another (Slack does not
wait for the answer), all channels at once, and a share of them is delivered again as Slack's
retries. The bot answers through slack_sdk to the fake Web API (in the child too), which takes
`--api-delay` per call. Checks: every event acknowledged with 200 in under 3 s,
every event answered exactly once in its own thread, in order within each thread.
The baseline sends the same messages straight into the bus (no HTTP, no signatures, no Web
API) with the same store; a Slack run with no Web API delay shows what HTTP, signatures and
slack_sdk add. With a delay d, each thread's replies take at least (events/channels) * d,
since a thread is answered in order. Prints a table and writes bench/results/slack_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from interplay.core.runner import run
from interplay.core.store import ConversationStore, MemoryStore, SQLiteStore
from interplay.plugins.slack.channel import SlackChannel
from interplay.plugins.slack.testing import (
    TEST_SECRET,
    TEST_TOKEN,
    SlackEventSender,
    mention,
    run_slack_bot,
    wait_for,
)
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI
from interplay.testing import run_bot

RESULTS = Path(__file__).parent / "results" / "slack_load.json"
ACK_LIMIT = 3.0  # Slack's deadline for the HTTP 200


def _store(kind: str, tmp: str, name: str) -> ConversationStore:
    return SQLiteStore(Path(tmp) / f"{name}.sqlite3") if kind == "sqlite" else MemoryStore()


def _plan(events: int, channels: int) -> dict[str, list[dict[str, Any]]]:
    """Per channel, its events in order: the first starts a thread, the rest reply in it."""
    plan: dict[str, list[dict[str, Any]]] = {f"C{c:03d}": [] for c in range(channels)}
    for i in range(events):
        channel = f"C{i % channels:03d}"
        thread = f"1700000000.{(i % channels) + 1:06d}"
        ts = thread if not plan[channel] else f"1700000001.{i + 1:06d}"
        plan[channel].append(
            mention(channel, f"question {i} please", user=f"U{i % channels:03d}", ts=ts, thread_ts=thread,
                    event_id=f"Ev{i:08d}")  # one person per channel: [bus] sender_backlog caps one sender
        )
    return plan


class SlackSide:
    """Slack's part: posts each channel's events in order, all channels at once, some twice."""

    def __init__(self, sender: SlackEventSender, retry_share: float, seed: int) -> None:
        self.sender = sender
        self.retry_share = retry_share
        self.rng = random.Random(seed)
        self.acks: list[float] = []
        self.statuses: Counter[int] = Counter()

    async def post(self, payload: dict[str, Any], retry: int | None) -> None:
        started = time.perf_counter()
        status, _ = await self.sender.post_event(payload, retry_num=retry)
        self.acks.append(time.perf_counter() - started)
        self.statuses[status] += 1

    async def channel(self, events: list[dict[str, Any]]) -> None:
        retries = []
        for payload in events:
            await self.post(payload, None)
            if self.rng.random() < self.retry_share:  # Slack retries it while we may still be answering
                retries.append(asyncio.create_task(self.post(payload, self.rng.randint(1, 3))))
        await asyncio.gather(*retries)

    def figures(self) -> dict[str, Any]:
        acks = sorted(self.acks)
        return {
            "deliveries": len(acks),
            "statuses": dict(self.statuses),
            "ack_p50_ms": round(statistics.median(acks) * 1000, 2),
            "ack_p99_ms": round(acks[max(0, int(len(acks) * 0.99) - 1)] * 1000, 2),
            "ack_max_ms": round(acks[-1] * 1000, 2),
        }


async def play_slack(
    fake: FakeSlackAPI, bot_url: str, plan: dict[str, list[dict[str, Any]]], retry_share: float, seed: int
) -> dict[str, Any]:
    """Send the plan to the bot at `bot_url`, wait until `fake` has every answer, check them."""
    events = sum(len(e) for e in plan.values())
    async with SlackEventSender(bot_url, TEST_SECRET) as sender:
        side = SlackSide(sender, retry_share, seed)
        started = time.perf_counter()
        await asyncio.gather(*(side.channel(e) for e in plan.values()))
        # stream_interval=1.0 and an instant echo: each answer is one chat.postMessage
        await wait_for(lambda: len(fake.messages) >= events, timeout=300)
        answered = time.perf_counter() - started
        await asyncio.sleep(0.5)  # a late duplicate answer would show up here
    figures = side.figures()
    return {
        "retries": figures["deliveries"] - events,
        **figures,
        "answered_s": round(answered, 3),
        "events_per_s": round(events / answered, 1),
        "web_api_calls": len(fake.calls),
        **_check(fake, plan),
    }


async def run_slack(
    events: int, channels: int, retry_share: float, api_delay: float, store_kind: str, seed: int = 1
) -> dict[str, Any]:
    """Bot, fake Web API and Slack's side in one event loop (what the pytest load test runs)."""
    _secrets()
    plan = _plan(events, channels)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            FakeSlackAPI(token=TEST_TOKEN, delay=api_delay) as fake,
            run_slack_bot(fake, store=_store(store_kind, tmp, "slack"), stream_interval=1.0) as rig,
        ):
            row = await play_slack(fake, rig.channel.url, plan, retry_share, seed)
            row["bot_delivered"] = rig.channel.delivered_count
    return {
        "pipeline": f"slack+{store_kind}@{api_delay * 1000:g}ms",
        "events": events,
        "channels": channels,
        "processes": 1,
        **row,
    }


def _slack_process(conn: Connection, plan: dict[str, list[dict[str, Any]]], args: tuple[Any, ...]) -> None:
    """The child process: the fake Web API and Slack's side, so they do not share the bot's loop."""
    retry_share, api_delay, seed = args

    async def main() -> dict[str, Any]:
        async with FakeSlackAPI(token=TEST_TOKEN, delay=api_delay) as fake:
            conn.send(fake.base_url)
            bot_url = await asyncio.to_thread(conn.recv)
            return await play_slack(fake, bot_url, plan, retry_share, seed)

    conn.send(run(main()))


async def run_slack_split(
    events: int, channels: int, retry_share: float, api_delay: float, store_kind: str, seed: int = 1
) -> dict[str, Any]:
    """The bot in this process; Slack (events and Web API) in a child process, as in production."""
    _secrets()
    ctx = multiprocessing.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    child = ctx.Process(
        target=_slack_process, args=(child_conn, _plan(events, channels), (retry_share, api_delay, seed))
    )
    child.start()
    try:
        api_url = await asyncio.wait_for(asyncio.to_thread(conn.recv), 60)
        with tempfile.TemporaryDirectory() as tmp:
            async with _bot(api_url, _store(store_kind, tmp, "slack")) as channel:
                conn.send(channel.url)
                row = await asyncio.wait_for(asyncio.to_thread(conn.recv), 360)
                row["bot_delivered"] = channel.delivered_count
    finally:
        child.join(10)
    return {
        "pipeline": f"slack+{store_kind}@{api_delay * 1000:g}ms",
        "events": events,
        "channels": channels,
        "processes": 2,
        **row,
    }


@asynccontextmanager
async def _bot(api_url: str, store: ConversationStore) -> AsyncIterator[SlackChannel]:
    """A bot with the slack channel on a free port, answering through the Web API at `api_url`."""
    from interplay.plugins import slack

    settings = {"slack": {"port": 0, "api_base_url": api_url, "stream_interval": 1.0}}
    config = {"pipeline": {"channels": ["slack"]}}
    async with run_bot(slack, installed=False, config=config, settings=settings, store=store) as bot:
        channel = bot.bot.channels["slack"]
        assert isinstance(channel, SlackChannel), bot.bot.status
        yield channel


def _secrets() -> None:
    os.environ.setdefault("SLACK_SIGNING_SECRET", TEST_SECRET)
    os.environ.setdefault("SLACK_BOT_TOKEN", TEST_TOKEN)


def _check(fake: FakeSlackAPI, plan: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each event answered exactly once, in its thread, in the order it was sent."""
    answers = Counter(m.text for m in fake.messages.values())
    expected = [e["event"]["text"].split("> ", 1)[1] for events in plan.values() for e in events]
    in_order = True
    for channel, events in plan.items():
        thread = events[0]["event"]["ts"]
        texts = [m.text for m in sorted(fake.thread(channel, thread), key=lambda m: m.ts)]
        in_order &= texts == [e["event"]["text"].split("> ", 1)[1] for e in events]
    return {
        "answered_once": sum(answers[t] == 1 for t in expected),
        "answered_twice_or_more": sum(answers[t] > 1 for t in expected),
        "unanswered": sum(answers[t] == 0 for t in expected),
        "in_order": bool(in_order),
    }


async def run_baseline(events: int, channels: int, store_kind: str) -> dict[str, Any]:
    """The same messages straight into the bus through the in-memory fake channel."""
    with tempfile.TemporaryDirectory() as tmp:
        async with run_bot(store=_store(store_kind, tmp, "base"), installed=False) as bot:
            channel = bot.channel
            assert channel is not None
            futures: list[asyncio.Future[Any]] = []

            async def side(c: int) -> None:
                for i in range(c, events, channels):
                    message = channel.message(f"question {i} please", f"C{c:03d}", user=f"U{c:03d}",
                                              external_id=f"Ev{i}")
                    futures.append(await channel.submit(message))

            started = time.perf_counter()
            await asyncio.gather(*(side(c) for c in range(channels)))
            await asyncio.gather(*futures)
            answered = time.perf_counter() - started
    return {
        "pipeline": f"bus+{store_kind}",
        "events": events,
        "channels": channels,
        "answered_s": round(answered, 3),
        "events_per_s": round(events / answered, 1),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'pipeline':<20}{'events':>7}{'deliv':>7}{'ack p50':>9}{'ack p99':>9}{'ack max':>9}"
        f"{'answered s':>11}{'x bus':>7}{'ev/s':>8}{'once':>6}{'twice':>6}{'none':>6}{'order':>7}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['pipeline']:<20}{r['events']:>7}{r.get('deliveries', '-'):>7}{r.get('ack_p50_ms', '-'):>9}"
            f"{r.get('ack_p99_ms', '-'):>9}{r.get('ack_max_ms', '-'):>9}{r['answered_s']:>11}{r['vs_bus']:>7}"
            f"{r['events_per_s']:>8}{r.get('answered_once', '-'):>6}{r.get('answered_twice_or_more', '-'):>6}"
            f"{r.get('unanswered', '-'):>6}{r.get('in_order', '-')!s:>7}"
        )
    return "\n".join(lines)


def passed(row: dict[str, Any]) -> bool:
    """The acceptance checks for one Slack run."""
    return (
        row["bot_delivered"] == row["events"]
        and row["answered_once"] == row["events"]
        and row["answered_twice_or_more"] == 0
        and row["in_order"]
        and set(row["statuses"]) == {200}
        and row["ack_max_ms"] < ACK_LIMIT * 1000
    )


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The baseline and the Slack runs for each store, with each run's ratio to its baseline."""
    rows = []
    for kind in ["sqlite"] if args.quick else ["memory", "sqlite"]:
        rows.append(run(run_baseline(args.events, args.channels, kind)))
        # with no Web API delay the difference to the baseline is HTTP, signatures and slack_sdk
        for delay in sorted({0.0, args.api_delay}):
            slack = run_slack if args.one_process else run_slack_split
            rows.append(run(slack(args.events, args.channels, args.retry_share, delay, kind)))
        print(f"  measured {kind}", file=sys.stderr)
    base = {r["pipeline"].split("+")[1]: r["answered_s"] for r in rows if r["pipeline"].startswith("bus")}
    for r in rows:
        r["vs_bus"] = round(r["answered_s"] / base[r["pipeline"].split("+")[1].split("@")[0]], 1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sqlite only (default: memory and sqlite)")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--retry-share", type=float, default=0.2, help="share of events Slack delivers again")
    parser.add_argument("--api-delay", type=float, default=0.05, help="seconds each Web API call takes")
    parser.add_argument("--one-process", action="store_true", help="Slack's side in the bot's event loop")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = measure(args)
    print(_table(rows))
    ok = all(passed(r) for r in rows if r["pipeline"].startswith("slack"))
    print("acceptance:", "PASS" if ok else "FAIL")
    result = {
        "benchmark": "slack_load",
        "command": " ".join(["python bench/slack_load.py", *sys.argv[1:]]),
        "api_delay_s": args.api_delay,
        "retry_share": args.retry_share,
        "passed": ok,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
