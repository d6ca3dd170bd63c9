"""A fake Slack Web API on 127.0.0.1 for tests and benchmarks, with fault injection.

Speaks enough of the real protocol for slack_sdk's `AsyncWebClient(base_url=fake.base_url)`:
auth.test, chat.postMessage, chat.update, chat.postEphemeral. Failures are queued per method:

    async with FakeSlackAPI(token="xoxb-test") as fake:
        fake.fail("chat.postMessage", status=429, retry_after=1)  # the next call is rate limited
        ...
        assert fake.thread("C1", "1700000000.000100")[0].text == "hello"
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER_ID = "UBOT"


@dataclass
class PostedMessage:
    """A message the bot posted; `versions` holds every text it showed, oldest first."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None = None
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """One request the fake received, with the status it answered."""

    method: str
    args: dict[str, Any]
    time: float
    status: int


@dataclass(frozen=True)
class Fault:
    """What the fake answers instead of the real thing, once."""

    status: int = 429
    retry_after: float | None = 1
    error: str | None = None  # with status 200: {"ok": false, "error": error}
    delay: float = 0.0


class FakeSlackAPI:
    """The fake server. Use as an async context manager; `base_url` is for AsyncWebClient."""

    def __init__(
        self,
        token: str = "xoxb-test",
        bot_user_id: str = BOT_USER_ID,
        *,
        delay: float = 0.0,
        port: int = 0,
        listener: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.delay = delay  # seconds every call takes, to imitate a slow network
        self.listener = listener  # told of every successful call (the `interplay slack fake-api` printout)
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], PostedMessage] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._clock = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def __aenter__(self) -> FakeSlackAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- fault injection and inspection ----------------------------------------------------
    def fail(
        self,
        method: str,
        status: int = 429,
        retry_after: float | None = 1,
        *,
        error: str | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this fault."""
        self._faults[method].extend([Fault(status, retry_after, error, delay)] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def thread(self, channel: str, thread_ts: str | None) -> list[PostedMessage]:
        """Messages the bot posted in one thread (thread_ts None: the channel's top level)."""
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]

    # -- the protocol ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        delay = self.delay
        fault = self._faults[method].popleft() if self._faults[method] else None
        if fault is not None:
            delay += fault.delay
        if delay:
            await asyncio.sleep(delay)
        status, body, headers = self._answer(method, args, request.headers.get("Authorization", ""), fault)
        self.calls.append(Call(method, args, time.monotonic(), status))
        if self.listener is not None and body.get("ok"):
            self.listener(method, args)
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, args: dict[str, Any], auth: str, fault: Fault | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if fault is not None and fault.status != 200:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return fault.status, {"ok": False, "error": fault.error or "ratelimited"}, headers
        if fault is not None:
            return 200, {"ok": False, "error": fault.error or "fatal_error"}, {}
        if auth != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "not_authed" if not auth else "invalid_auth"}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(args), {}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "user_id": self.bot_user_id,
            "user": "interplay",
            "team_id": "T1",
            "bot_id": "BBOT",
            "url": "https://example.slack.com/",
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, text = args.get("channel"), args.get("text")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not text and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{int(time.time())}.{next(self._clock):06d}"
        message = PostedMessage(channel, ts, args.get("thread_ts"), text or "", _blocks(args), [text or ""])
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((args.get("channel", ""), args.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = args.get("text") or message.text
        message.blocks = _blocks(args) if "blocks" in args else message.blocks
        message.versions.append(message.text)
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        self.ephemeral.append(args)
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._clock):06d}"}


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Arguments as slack_sdk sends them: a JSON body, a form, or the query string."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        args.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        args.update(dict(await request.post()))
    return args


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    blocks = args.get("blocks")
    if isinstance(blocks, str):  # form-encoded calls send blocks as a JSON string
        blocks = json.loads(blocks)
    return blocks if isinstance(blocks, list) else None
