"""Fault campaign: fuzzed Telegram webhook and Slack Events requests and chat messages, with store outages.

`--requests` (10,000) requests in all, from a seeded generator, in `--rounds` rounds through three bots
that stay up the whole run (Telegram in webhook mode against the fake Bot API, Slack against the fake
Web API, the core's in-memory channel), each on its own SQLite store:

- good messages: odd Unicode (zero-width and format characters, RTL overrides, combining marks, ZWJ
  emoji, full-width and astral letters, lone surrogates, control characters, markup), some longer
  than `[limits] max_message_chars`; each carries a marker `~<n>` so its answer can be found;
- redeliveries: Telegram re-posting an update, Slack retries (`X-Slack-Retry-Num`), the core channel
  submitting the same external id again;
- malformed bodies (not JSON, JSON that is no update, `{"update_id": true}`, wrong types, random
  bytes, deep nesting) and oversize bodies (over 1 MiB);
- forged requests: wrong, missing or non-UTF-8 secret token / signature, stale Slack timestamps;
- forged feedback: Telegram callback data and Slack button values naming another chat's reply, or
  garbage.

During each round the stores are locked (`sqlite3.OperationalError: database is locked`, as SQLite under a
long write) for `--outage` seconds, while requests keep coming. Clients behave as Telegram and Slack do:
a non-2xx answer to a good request is re-sent later.

Checks: every good message answered exactly once (its own text, or `too_long_reply`), nothing forged or
malformed answered or stored, no vote from a forger, no 500 (a 503 during an outage is expected), no
ERROR log, and the Python heap (tracemalloc, after gc) flat: its growth from the end of the first round
to the end of the last stays under `--max-growth-mib`. Writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import random
import re
import socket
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from interplay.core import Message
from interplay.core.config import LimitsSettings
from interplay.core.store import SQLiteStore
from interplay.plugins.slack.signature import signed_headers
from interplay.plugins.slack.testing import TEST_SECRET, TEST_TOKEN, button_click, mention, run_slack_bot
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI
from interplay.plugins.telegram.testing import fake_updates
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from interplay.testing import run_bot

RESULTS = Path(__file__).parent / "results" / "faults.json"
MAX_CHARS = 2000  # [limits] max_message_chars here, so that oversize messages fit Telegram's 4096
TG_SECRET = "fault-campaign-secret"
TOO_LONG = LimitsSettings().too_long_reply
MARK = re.compile(r"~(\d+)\b")

ODD = [
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u202eevil\u202c",
    "e\u0301\u0301\u0301\u0327",
    "👩\u200d👩\u200d👧\u200d👦",
    "🇺🇳🏳️\u200d🌈",
    "ＡＢＣ１２３",
    "𝐀𝐁𝐂𝔸𝔹",
    "漢字かなカナ",
    "हिन्दी",
    "عربى",
    "\u00ad\u034f\u180e",
    "<b>&amp;</b> *_`[x](y)` <script>",
    "\x01\x07\x1b[31m",
    "\x00",
    "\ud800",
    "\udfff\ud83d",
    "Z̸̡̢͇͖a̶̧͈l̷g̶o̵",
    "\U0010fffd\U000e0001",
    "\t\r\n\u2028\u2029",
]


def odd_text(rng: random.Random, longest: int = 300) -> str:
    parts = [rng.choice(ODD) for _ in range(rng.randint(1, 4))]
    parts.append(
        "".join(
            chr(rng.choice([rng.randint(0x20, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
            for _ in range(rng.randint(0, longest))
        )
    )
    rng.shuffle(parts)
    return " ".join(parts)


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FlakySQLite(SQLiteStore):
    """SQLite whose inbound writes and dedupe look-ups fail ("database is locked") during an outage.

    An outage lasts `seconds` and at least until `refusals` calls were refused: on a starved machine
    a time window alone may pass with nobody asking.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, cache_conversations=256)  # full in the first round: then the heap is flat
        self.until = 0.0
        self.left = 0
        self.refused = 0

    def fail(self, seconds: float, refusals: int = 3) -> None:
        self.until, self.left = time.monotonic() + seconds, refusals

    def _check(self) -> None:
        if time.monotonic() < self.until or self.left > 0:
            self.left -= 1
            self.refused += 1
            raise sqlite3.OperationalError("database is locked")

    async def record_inbound(self, message: Message) -> bool:
        self._check()
        return await super().record_inbound(message)

    async def seen(self, channel: str, key: str) -> bool:
        self._check()
        return await super().seen(channel, key)


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}"[:300])


@dataclass
class Tally:
    """One surface's figures: what was sent of each kind, what came back."""

    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    good: dict[int, str] = field(default_factory=dict)  # marker -> where its answer goes
    too_long: list[str] = field(default_factory=list)  # places that must get exactly one too_long_reply
    refused_markers: set[int] = field(default_factory=set)  # forged or malformed: never answered

    def status(self, kind: str, status: int) -> None:
        self.statuses[f"{kind}:{status}"] += 1


async def raw_post(port: int, path: str, headers: bytes, body: bytes) -> int:
    """An HTTP POST with header bytes as given (aiohttp would not send non-UTF-8 values)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % path.encode() + headers
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(line.split()[1])


def malformed_bodies(rng: random.Random) -> list[bytes]:
    nested = b"[" * 5000 + b"]" * 5000
    return [
        b"",
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b'{"update_id": true}',
        b'{"update_id": "7"}',
        b'{"update_id": 1.5}',
        b'{"update_id": 5, "message": 7}',
        b'{"update_id": 6, "message": {"text": 1}}',
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))),
        nested,
        b"\xff\xfe{}",
    ]


# -- Telegram ----------------------------------------------------------------------------------------


class TelegramSurface:
    def __init__(
        self, bot: Any, fake: FakeTelegram, store: FlakySQLite, port: int, rng: random.Random
    ) -> None:
        self.bot, self.fake, self.store, self.port, self.rng = bot, fake, store, port, rng
        self.tally = Tally()
        self.delivered: list[dict[str, Any]] = []  # good updates, to deliver again
        self.forgers: set[str] = set()  # users whose votes must never be stored
        self.next_chat = 1000
        self.session: aiohttp.ClientSession | None = None
        self.resend: list[asyncio.Task[None]] = []

    def reset(self) -> None:
        """Forget this round's records (so that the fakes' own bookkeeping does not grow the heap)."""
        self.fake.messages.clear()
        self.fake.calls.clear()
        self.fake.call_times.clear()
        self.fake.webhook_statuses.clear()
        self.tally, self.delivered = Tally(), []

    async def post(self, body: Any, secret: str | None) -> int:
        return await self.fake.post_webhook(body, secret, self.session)

    async def one(self, marker: int) -> None:
        t, rng = self.tally, self.rng
        kind = rng.choices(
            ["good", "long", "again", "malformed", "oversize", "forged", "forged_utf8", "press"],
            [50, 3, 10, 15, 1, 12, 2, 7],
        )[0]
        t.sent[kind] += 1
        if kind in ("good", "long") or (kind in ("again", "press") and not self.delivered):
            self.next_chat += 1
            chat = self.next_chat if kind == "long" else rng.randint(1, 300)
            if kind == "long":
                text = f"~{marker} " + "x" * rng.randint(MAX_CHARS + 1, 3500)
                t.too_long.append(str(chat))
            else:
                text = f"~{marker} {odd_text(rng)}"
                t.good[marker] = str(chat)
            self.delivered.append(
                self.fake.say(chat, text, user_id=chat)
            )  # the fake's pump re-sends on non-2xx
        elif kind == "again":
            t.status(kind, await self.post(rng.choice(self.delivered), TG_SECRET))
        elif kind == "malformed":
            t.status(kind, await self.post(rng.choice(malformed_bodies(rng)), TG_SECRET))
        elif kind == "oversize":
            t.status(kind, await self.post(b'{"update_id": 1, "x": "' + b"a" * (1 << 21) + b'"}', TG_SECRET))
        elif kind in ("forged", "forged_utf8"):
            update = {
                "update_id": 10_000_000 + marker,
                "message": fake_updates.message(7, marker, f"~{marker} let me in"),
            }
            t.refused_markers.add(marker)
            if kind == "forged":
                t.status(
                    kind,
                    await self.post(update, rng.choice([None, "", "wrong", TG_SECRET[:-1], TG_SECRET + "x"])),
                )
            else:
                headers = b"X-Telegram-Bot-Api-Secret-Token: " + TG_SECRET.encode() + b"\xff\xfe\r\n"
                t.status(
                    kind,
                    await raw_post(
                        self.port,
                        "/telegram",
                        headers + b"Content-Type: application/json\r\n",
                        json.dumps(update).encode(),
                    ),
                )
        else:  # press: a forger, under the bot's message in their own chat, names another chat's reply
            await self.forged_press()

    async def forged_press(self) -> None:
        rng = self.rng
        forger = 900_000 + rng.randint(0, 20)
        self.forgers.add(str(forger))
        own = self.fake.bot_messages(forger)
        if not own:  # first a message of their own, so that they have a bot message to press under
            self.fake.messages[forger][1] = {
                "message_id": 1,
                "chat": fake_updates.chat(forger),
                "date": int(time.time()),
                "text": "planted",
                "by_bot": True,
            }
        chats = rng.sample(sorted(self.fake.messages), k=min(3, len(self.fake.messages)))
        replies = [m.get("reply_markup") for c in chats for m in self.fake.bot_messages(c)]
        datas = [
            b.get("callback_data", "")
            for r in replies
            if isinstance(r, dict)
            for row in r.get("inline_keyboard", [])
            for b in row
        ]
        data = rng.choice([*datas, "fb:+1:nope", "fb:+1:", "fb:2:x", "x" * 64, "fb:-1:" + "\u202e" * 10])
        self.fake.press(forger, next(iter(self.fake.messages[forger])), data, user_id=forger)

    def check(self) -> dict[str, Any]:
        t = self.tally
        answers: Counter[int] = Counter()
        where: dict[int, set[str]] = {}
        too_long: Counter[str] = Counter()
        for chat in list(self.fake.messages):
            for text in self.fake.texts(chat):
                if text == TOO_LONG:
                    too_long[str(chat)] += 1
                for m in MARK.findall(text):
                    answers[int(m)] += 1
                    where.setdefault(int(m), set()).add(str(chat))
        return _verdict(t, answers, where, too_long)


# -- Slack -------------------------------------------------------------------------------------------


class SlackSurface:
    def __init__(
        self, bot: Any, fake: FakeSlackAPI, url: str, store: FlakySQLite, rng: random.Random
    ) -> None:
        self.bot, self.fake, self.url, self.store, self.rng = bot, fake, url.rstrip("/"), store, rng
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        self.tally = Tally()
        self.delivered: list[dict[str, Any]] = []
        self.forgers: set[str] = set()
        self.session: aiohttp.ClientSession | None = None
        self.resend: list[asyncio.Task[None]] = []

    def reset(self) -> None:
        self.fake.messages.clear()
        self.fake.calls.clear()
        self.tally, self.delivered = Tally(), []

    def reply_ids(self) -> list[str]:
        """The reply ids the bot's feedback buttons carry (what a forger would copy)."""
        return [
            element["value"]
            for m in self.fake.messages.values()
            for block in m.blocks or []
            for element in block.get("elements", [])
            if isinstance(element, dict) and element.get("value")
        ]

    async def post(
        self,
        path: str,
        body: bytes,
        content: str,
        *,
        secret: str = TEST_SECRET,
        stamp: float | None = None,
        signed: bool = True,
        retry: int | None = None,
    ) -> int:
        assert self.session is not None
        headers = {"Content-Type": content}
        if signed:
            headers |= signed_headers(secret, body, stamp)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.session.post(self.url + path, data=body, headers=headers) as response:
            await response.read()
            return response.status

    async def event(self, payload: dict[str, Any], **kw: Any) -> int:
        return await self.post("/slack/events", json.dumps(payload).encode(), "application/json", **kw)

    async def deliver(self, payload: dict[str, Any]) -> None:
        """As Slack: re-send (marked as a retry) until the answer is 2xx."""
        retry = 0
        while True:
            status = await self.event(payload, retry=retry or None)
            self.tally.status("good", status)
            if 200 <= status < 300:
                self.delivered.append(payload)
                return
            retry += 1
            await asyncio.sleep(0.05 * min(retry, 10))

    async def one(self, marker: int) -> None:
        t, rng = self.tally, self.rng
        kind = rng.choices(
            ["good", "long", "again", "malformed", "oversize", "forged", "forged_utf8", "click"],
            [50, 3, 10, 15, 1, 12, 2, 7],
        )[0]
        t.sent[kind] += 1
        if kind in ("good", "long") or (kind == "again" and not self.delivered):
            channel, user = f"C{rng.randint(1, 200):04d}", f"U{rng.randint(1, 400):04d}"
            if kind == "long":
                payload = mention(channel, f"~{marker} " + "y" * rng.randint(MAX_CHARS + 1, 3500), user=user)
                t.too_long.append(f"{channel}/{payload['event']['ts']}")
            else:
                payload = mention(channel, slack_escape(f"~{marker} {odd_text(rng)}"), user=user)
                t.good[marker] = channel
            self.resend.append(asyncio.create_task(self.deliver(payload)))
        elif kind == "again":
            t.status(kind, await self.event(rng.choice(self.delivered), retry=rng.randint(1, 3)))
        elif kind == "malformed":
            body = rng.choice(malformed_bodies(rng))
            t.status(kind, await self.post("/slack/events", body, "application/json"))
        elif kind == "oversize":
            t.status(
                kind,
                await self.post("/slack/events", b'{"a": "' + b"a" * 1_100_000 + b'"}', "application/json"),
            )
        elif kind in ("forged", "forged_utf8"):
            payload = mention("C0001", f"~{marker} let me in", user="U0001")
            t.refused_markers.add(marker)
            body = json.dumps(payload).encode()
            if kind == "forged":
                how = rng.choice(["secret", "stale", "unsigned"])
                t.status(
                    kind,
                    await self.post(
                        "/slack/events",
                        body,
                        "application/json",
                        secret="wrong" if how == "secret" else TEST_SECRET,
                        stamp=time.time() - 600 if how == "stale" else None,
                        signed=how != "unsigned",
                    ),
                )
            else:
                good = signed_headers(TEST_SECRET, body)
                headers = b"".join(f"{k}: {v}\r\n".encode() for k, v in good.items() if "Signature" not in k)
                headers += (
                    b"X-Slack-Signature: v0=\xff\xfe" + b"0" * 60 + b"\r\nContent-Type: application/json\r\n"
                )
                t.status(kind, await raw_post(self.port, "/slack/events", headers, body))
        else:  # click: a forger's button press naming a reply of another channel, or garbage
            forger = f"UF{rng.randint(0, 20):02d}"
            self.forgers.add(f"T1:{forger}")
            reply_id = rng.choice([*self.reply_ids()[-50:], f"r{rng.randint(0, 10**9)}", "", "x" * 300])
            payload = button_click(
                reply_id, rng.random() < 0.5, user=forger, channel=f"CF{rng.randint(0, 5)}"
            )
            body = urlencode({"payload": json.dumps(payload)}).encode()
            t.status(kind, await self.post("/slack/interactions", body, "application/x-www-form-urlencoded"))

    def check(self) -> dict[str, Any]:
        answers: Counter[int] = Counter()
        where: dict[int, set[str]] = {}
        too_long: Counter[str] = Counter()
        for message in self.fake.messages.values():
            if message.text == TOO_LONG:
                too_long[f"{message.channel}/{message.thread_ts}"] += 1
            for m in MARK.findall(message.text or ""):
                answers[int(m)] += 1
                where.setdefault(int(m), set()).add(message.channel)
        return _verdict(self.tally, answers, where, too_long)


# -- the core's channel ------------------------------------------------------------------------------


class CoreSurface:
    def __init__(self, bot: Any, store: FlakySQLite, rng: random.Random) -> None:
        self.bot, self.store, self.rng = bot, store, rng
        self.tally = Tally()
        self.delivered: list[Message] = []
        self.futures: list[asyncio.Future[Any]] = []
        self.resend: list[asyncio.Task[None]] = []
        self.forgers: set[str] = set()

    def reset(self) -> None:
        self.bot.channel.sent.clear()
        self.tally, self.delivered = Tally(), []

    async def deliver(self, make: Any) -> None:
        """As a channel whose client re-sends: a transient store failure means try again."""
        channel = self.bot.channel
        for attempt in range(1, 1000):
            message = make()
            try:
                future = await channel.submit(message)
            except sqlite3.OperationalError:
                channel._waiting.pop(message.id, None)  # the fake channel's future for a refused submit
                self.tally.statuses["good:refused_during_outage"] += 1
                await asyncio.sleep(0.02 * min(attempt, 10))
                continue
            self.futures.append(future)
            self.delivered.append(message)
            return
        raise AssertionError("the store never came back")

    async def one(self, marker: int) -> None:
        t, rng = self.tally, self.rng
        kind = rng.choices(["good", "long", "again"], [85, 3, 12])[0] if self.delivered else "good"
        t.sent[kind] += 1
        channel = self.bot.channel
        if kind == "again":
            again = rng.choice(self.delivered)
            copy = Message(
                again.channel, again.conversation_id, again.user_id, again.text, external_id=again.external_id
            )
            self.resend.append(asyncio.create_task(self.deliver(lambda: copy)))
            return
        conv, user = f"c{rng.randint(1, 300)}", f"u{rng.randint(1, 400)}"
        if kind == "long":
            text = f"~{marker} " + odd_text(rng, 50) + "z" * rng.randint(MAX_CHARS + 1, 20_000)
            t.too_long.append(f"ext{marker}")
        else:
            text = f"~{marker} {odd_text(rng)}"
            t.good[marker] = conv
        self.resend.append(
            asyncio.create_task(
                self.deliver(lambda: channel.message(text, conv, user, external_id=f"ext{marker}"))
            )
        )

    def check(self) -> dict[str, Any]:
        answers: Counter[int] = Counter()
        where: dict[int, set[str]] = {}
        for out in self.bot.channel.sent:
            for m in MARK.findall(out.text):
                answers[int(m)] += 1
                where.setdefault(int(m), set()).add(out.reply.conversation_id if out.reply else "?")
        by_id = {m.id: m for m in self.delivered}
        too_long: Counter[str] = Counter()
        for out in self.bot.channel.sent:  # a too_long_reply carries no marker: find its message
            message = by_id.get(out.reply.message_id) if out.reply is not None else None
            if out.text == TOO_LONG and message is not None:
                too_long[str(message.external_id)] += 1
        return _verdict(self.tally, answers, where, too_long)


def _verdict(
    t: Tally, answers: Counter[int], where: dict[int, set[str]], too_long: Counter[str]
) -> dict[str, Any]:
    """One round of one surface; lists are samples (up to 20), the rest counts."""
    goods = set(t.good)
    return {
        "sent": Counter(t.sent),
        "statuses": Counter(t.statuses),
        "good_messages": len(goods),
        "answered_once": sum(answers[m] == 1 for m in goods),
        "answered_twice_or_more": sum(n > 1 for n in answers.values()),
        "unanswered": sorted(m for m in goods if answers[m] == 0)[:20],
        "answered_elsewhere": sorted(m for m in goods if where.get(m, {t.good[m]}) != {t.good[m]})[:20],
        "answered_from_an_earlier_round": sorted(
            m for m in answers if m not in goods and m not in t.refused_markers
        )[:20],
        "too_long_sent": len(t.too_long),
        "too_long_answered_once": sum(too_long[p] == 1 for p in t.too_long),
        "too_long_answered_twice": sum(n > 1 for n in too_long.values()),
        "forged_answered": sorted(m for m in t.refused_markers if answers[m])[:20],
        "status_500": sum(n for k, n in t.statuses.items() if k.endswith(":500")),
    }


def add(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, Counter):
            total[key] = total.get(key, Counter()) + value
        elif isinstance(value, list):
            total[key] = (total.get(key, []) + value)[:20]
        else:
            total[key] = total.get(key, 0) + value


def passed(part: dict[str, Any]) -> bool:
    return (
        part["answered_once"] == part["good_messages"]
        and part["answered_twice_or_more"] == 0
        and not part["unanswered"]
        and not part["answered_elsewhere"]
        and not part["answered_from_an_earlier_round"]
        and part["too_long_answered_once"] == part["too_long_sent"]
        and part["too_long_answered_twice"] == 0
        and not part["forged_answered"]
        and part["status_500"] == 0
        and part.get("forged_votes", 0) == 0
    )


# -- the run -----------------------------------------------------------------------------------------


@asynccontextmanager
async def bots(
    workdir: Path, rng: random.Random
) -> AsyncIterator[tuple[TelegramSurface, SlackSurface, CoreSurface]]:
    saved = {k: os.environ.get(k) for k in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")}
    os.environ["SLACK_SIGNING_SECRET"], os.environ["SLACK_BOT_TOKEN"] = TEST_SECRET, TEST_TOKEN
    limits = {"messages_per_minute": 0, "max_message_chars": MAX_CHARS}  # rate limits: test_limits.py
    try:
        async with AsyncExitStack() as stack:
            fake_tg = await stack.enter_async_context(FakeTelegram())
            (workdir / "token").write_text(fake_tg.token)
            (workdir / "secret").write_text(TG_SECRET)
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            tg_settings = fake_tg.channel_settings(
                user_rate=0,
                token=f"$file:{workdir / 'token'}",
                mode="webhook",
                webhook_port=port,
                webhook_url=f"http://127.0.0.1:{port}/telegram",
                webhook_secret=f"$file:{workdir / 'secret'}",
            )
            tg_store = FlakySQLite(workdir / "telegram.sqlite3")
            tg_bot = await stack.enter_async_context(
                run_bot(
                    config={"pipeline": {"channels": ["telegram"]}, "limits": limits},
                    settings={"telegram": tg_settings},
                    store=tg_store,
                )
            )
            assert tg_bot.bot.status.get("telegram") == "running", tg_bot.bot.status
            fake_slack = await stack.enter_async_context(FakeSlackAPI(token=TEST_TOKEN))
            slack_store = FlakySQLite(workdir / "slack.sqlite3")
            rig = await stack.enter_async_context(
                run_slack_bot(fake_slack, store=slack_store, limits=limits, stream_interval=1.0)
            )
            core_store = FlakySQLite(workdir / "core.sqlite3")
            core_bot = await stack.enter_async_context(run_bot(store=core_store, config={"limits": limits}))
            session = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            )
            tg = TelegramSurface(tg_bot, fake_tg, tg_store, port, rng)
            slack = SlackSurface(rig.bot, fake_slack, rig.channel.url, slack_store, rng)
            tg.session = slack.session = session
            yield tg, slack, CoreSurface(core_bot, core_store, rng)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def settle(tg: TelegramSurface, slack: SlackSurface, core: CoreSurface, timeout: float) -> None:
    """Wait until every re-send was accepted, every accepted message answered, and the bots are idle."""
    deadline = time.monotonic() + timeout
    await asyncio.wait_for(asyncio.gather(*slack.resend, *core.resend), timeout)
    slack.resend.clear()
    core.resend.clear()
    await asyncio.wait_for(asyncio.gather(*core.futures), max(1.0, deadline - time.monotonic()))
    core.futures.clear()
    while tg.fake.pending or any(s.bot.bot.bus.conversations for s in (tg, slack, core)):
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled: {len(tg.fake.pending)} Telegram updates still pending")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a late second answer would show now


def heap_mib() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 2**20


def rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def campaign(
    requests: int, rounds: int, outage: float, seed: int, concurrency: int = 8
) -> dict[str, Any]:
    rng = random.Random(seed)
    errors = Errors()
    for name in ("interplay", "asyncio", "aiohttp"):
        logging.getLogger(name).addHandler(errors)
    tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    heap: list[float] = []
    rss: list[float] = []
    refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        async with bots(Path(tmp), rng) as (tg, slack, core):
            surfaces = {"telegram_webhook": tg, "slack_events": slack, "core_channel": core}
            parts: dict[str, dict[str, Any]] = {name: {} for name in surfaces}
            per_round = requests // rounds
            marker = 0
            for round_no in range(rounds):
                outage_at = marker + rng.randint(per_round // 4, per_round // 2)
                todo = list(range(marker + 1, marker + per_round + 1))
                marker += per_round

                async def worker(todo: list[int], outage_at: int) -> None:
                    while todo:
                        n = todo.pop(0)
                        if n == outage_at:  # while requests keep coming
                            for surface in surfaces.values():
                                surface.store.fail(outage)
                        await rng.choice(list(surfaces.values())).one(n)

                await asyncio.gather(*(worker(todo, outage_at) for _ in range(concurrency)))
                await settle(tg, slack, core, timeout=600)
                for name, surface in surfaces.items():
                    add(parts[name], surface.check())
                    surface.reset()
                heap.append(round(heap_mib(), 2))
                rss.append(round(rss_mib(), 1))
                print(
                    f"  round {round_no + 1}/{rounds}: {marker} requests, heap {heap[-1]} MiB, "
                    f"rss {rss[-1]} MiB, {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                )
            for name in ("telegram_webhook", "slack_events"):
                surface = surfaces[name]
                parts[name]["forged_votes"] = await _votes_from(surface.store, surface.forgers)
            refused = sum(s.store.refused for s in surfaces.values())
    tracemalloc.stop()
    for name in ("interplay", "asyncio", "aiohttp"):
        logging.getLogger(name).removeHandler(errors)
    seconds = time.perf_counter() - started
    growth = round(heap[-1] - heap[0], 2) if len(heap) > 1 else 0.0
    return {
        "requests": requests,
        "rounds": rounds,
        "outage_s_per_round": outage,
        "seed": seed,
        "seconds": round(seconds, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "store_refusals_during_outages": refused,
        "heap_mib_after_each_round": heap,
        "rss_mib_after_each_round": rss,
        "heap_growth_mib_first_to_last_round": growth,
        "error_logs": errors.records[:20],
        "error_log_count": len(errors.records),
        "parts": {
            name: {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in part.items()}
            for name, part in parts.items()
        },
    }


async def _votes_from(store: SQLiteStore, users: set[str]) -> int:
    return sum(1 for f in await store.feedback_for() if f.user_id in users)


def verdict(result: dict[str, Any], max_growth: float) -> list[str]:
    problems = [f"{name}: {part}" for name, part in result["parts"].items() if not passed(part)]
    if result["error_log_count"]:
        problems.append(f"{result['error_log_count']} ERROR log records: {result['error_logs'][:3]}")
    if result["heap_growth_mib_first_to_last_round"] > max_growth:
        problems.append(f"heap grew {result['heap_growth_mib_first_to_last_round']} MiB (limit {max_growth})")
    if not result["store_refusals_during_outages"]:
        problems.append("no outage was injected")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--outage", type=float, default=0.5, help="seconds the stores are locked, once a round"
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--max-growth-mib", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    result = asyncio.run(campaign(args.requests, args.rounds, args.outage, args.seed))
    problems = verdict(result, args.max_growth_mib)
    result.update(
        {
            "benchmark": "faults",
            "command": " ".join(["python bench/faults.py", *sys.argv[1:]]),
            "passed": not problems,
            "problems": problems,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        }
    )
    print(json.dumps({k: v for k, v in result.items() if k != "parts"}, indent=1))
    for name, part in result["parts"].items():
        print(name, json.dumps(part))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=True) + "\n")
    print(f"wrote {args.out}", "PASS" if not problems else f"FAIL: {problems}")
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
