"""A fake Telegram Bot API server on 127.0.0.1, for testing bots with the real client.

Point python-telegram-bot at it with `ApplicationBuilder().base_url(fake.api_url)` (or the
channel's `api_url` setting). Tests "type" messages with `fake.say(...)`, read what the bot
sent with `fake.texts(chat_id)`, and inject faults with `fake.fail(...)`, `fake.slow(...)`,
`fake.inject(...)` and `fake.shuffle`.

    async with FakeTelegram() as fake:
        fake.say(42, "hello")
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from . import fake_updates
from .fake_protocol import ApiError, check_text, error, params_of, phrase, public

BOT_ID = 5_000_000


@dataclass
class Fault:
    """One injected failure: an HTTP status with a Bot API error body, or a delay."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: float | None = None
    delay: float = 0.0
    chat_id: int | None = None  # only requests for this chat


class FakeTelegram:
    """The Bot API subset Interplay uses, with long polling, a webhook pump and fault injection."""

    def __init__(self, token: str = "123456:TEST-token", username: str = "interplay_test_bot",
                 port: int = 0) -> None:
        self.token = token
        self.username = username
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed by an offset
        self.injected: list[Any] = []  # raw items for the next getUpdates answer, whatever the offset
        self.shuffle = False  # answer getUpdates batches out of order
        self.messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)  # chat -> id -> message
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.call_times: list[float] = []  # time.monotonic() of each call, parallel to `calls`
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.blocked: dict[int, str] = {}  # chat -> Forbidden/Bad Request description
        self.webhook: dict[str, Any] = {}
        self.webhook_statuses: list[int] = []
        self._next_update = 1
        self._next_message: dict[int, int] = defaultdict(lambda: 1)
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task[None] | None = None
        self.port = port
        self.on_call: Callable[[str, dict[str, Any]], None] | None = None  # sees each successful call

    # -- server lifecycle ------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What to pass as `base_url` (the token is appended by the client)."""
        return f"{self.url}/bot"

    def channel_settings(self, **overrides: Any) -> dict[str, Any]:
        """A `[plugins.telegram]` table aimed at this server, with test-speed timings."""
        fast = {"api_url": self.api_url, "file_url": f"{self.url}/file/bot", "poll_timeout": 1.0,
                "edit_interval": 0.05, "typing_interval": 0.2, "backoff_base": 0.01, "backoff_max": 0.05,
                "max_messages_per_second": 0, "max_group_messages_per_minute": 0, "request_timeout": 3.0}
        return {**fast, **overrides}

    # -- what tests drive ------------------------------------------------------------------
    def push(self, **fields: Any) -> dict[str, Any]:
        """Queue an update with the next update_id; returns it."""
        update = {"update_id": self._next_update, **fields}
        self._next_update += 1
        self.pending.append(update)
        self._arrived.set()
        self._start_pump()
        return update

    def say(self, chat_id: int, text: str | None, **kw: Any) -> dict[str, Any]:
        """A person writes `text` in a chat (kwargs as for `fake_updates.message`)."""
        msg = fake_updates.message(chat_id, self._new_message_id(chat_id), text, **kw)
        self.messages[chat_id][msg["message_id"]] = {**msg, "by_bot": False}
        return self.push(message=msg)

    def edit(self, original: dict[str, Any], text: str, *, after: float = 10.0) -> dict[str, Any]:
        """The person edits an earlier message `after` seconds after sending it."""
        msg = {**original["message"], "text": text, "edit_date": original["message"]["date"] + int(after)}
        return self.push(edited_message=msg)

    def press(self, chat_id: int, message_id: int, data: str, user_id: int | None = None) -> dict[str, Any]:
        """A person presses an inline button under one of the bot's messages."""
        message = self.messages[chat_id][message_id]
        query = fake_updates.callback(f"q{self._next_update}", user_id or chat_id, data, public(message))
        return self.push(callback_query=query)

    def inject(self, *items: Any) -> None:
        """Put raw items (duplicates, malformed updates) into the next getUpdates answer."""
        self.injected.extend(items)
        self._arrived.set()

    def fail(self, method: str, status: int = 500, *, times: int = 1, retry_after: float | None = None,
             description: str = "", chat_id: int | None = None) -> None:
        """The next `times` calls of `method` answer with an error."""
        for _ in range(times):
            self.faults[method].append(Fault(status, description or phrase(status), retry_after,
                                             chat_id=chat_id))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer after `seconds`."""
        for _ in range(times):
            self.faults[method].append(Fault(200, delay=seconds))

    def block(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user") -> None:
        """Every request for this chat is refused from now on (403, or 400 for "chat not found")."""
        self.blocked[chat_id] = description

    # -- what tests read -------------------------------------------------------------------
    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat, oldest first, as they read now (after edits)."""
        return [m for m in self.messages[chat_id].values() if m["by_bot"]]

    def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.bot_messages(chat_id)]

    def requests(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The parameters of every call of `method` (for one chat), in arrival order."""
        return [p for m, p in self.calls if m == method and (chat_id is None or p.get("chat_id") == chat_id)]

    def count(self, method: str, chat_id: int | None = None) -> int:
        return sum(1 for m, p in self.calls
                   if m == method and (chat_id is None or p.get("chat_id") == chat_id))

    async def wait_for(self, condition: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
        """Poll `condition()` until it is true; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    # -- HTTP ------------------------------------------------------------------------------
    async def _endpoint(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return error(401, "Unauthorized")
        method = request.match_info["method"]
        try:
            params = await params_of(request)
        except ConnectionResetError:  # the client gave up (a cancelled long poll at shutdown)
            return error(499, "Client Closed Request")
        self.calls.append((method, params))
        self.call_times.append(time.monotonic())
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return error(404, "Not Found")
        fault = self._fault(method, params)
        if fault is not None:
            await asyncio.sleep(fault.delay)
            if fault.status != 200:
                return error(fault.status, fault.description, fault.retry_after)
        try:
            result = await handler(params)
        except ApiError as exc:
            return error(exc.status, exc.description)
        if self.on_call is not None:
            self.on_call(method, params)
        return web.json_response({"ok": True, "result": result})

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        for i, fault in enumerate(queue):
            if fault.chat_id is None or fault.chat_id == params.get("chat_id"):
                del queue[i]
                return fault
        return None

    # -- Bot API methods -------------------------------------------------------------------
    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Interplay test", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[Any]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        if offset > 0:  # confirms every update before it
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not (self.pending or self.injected) and time.monotonic() < deadline:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
        batch: list[Any] = [*self.injected, *self.pending[:limit]]
        self.injected = []
        if self.shuffle:
            random.shuffle(batch)
        return batch

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        text = check_text(params)
        message_id = self._new_message_id(chat_id)
        message = {"message_id": message_id, "date": int(time.time()), "chat": fake_updates.chat(chat_id),
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Interplay test",
                            "username": self.username}, "text": text, "by_bot": True}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if params.get("reply_parameters"):
            message["reply_to"] = params["reply_parameters"].get("message_id")
        self.messages[chat_id][message_id] = message
        return public(message)

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        text = check_text(params)
        markup = params.get("reply_markup")
        if message["text"] == text and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup")
        message["text"] = text
        message["edits"] = message.get("edits", 0) + 1
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return public(message)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        if message.get("reply_markup") == params.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["reply_markup"] = params.get("reply_markup")
        return public(message)

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        keys = ("url", "secret_token", "allowed_updates", "max_connections")
        self.webhook = {k: params.get(k) for k in keys}
        self._start_pump()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.pending.clear()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info = {"url": self.webhook.get("url") or "", "has_custom_certificate": False,
                "pending_update_count": len(self.pending)}
        if self.webhook.get("max_connections"):
            info["max_connections"] = int(self.webhook["max_connections"])
        return info

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            why = self.blocked[chat_id]
            raise ApiError(403 if why.startswith("Forbidden") else 400, why)
        return chat_id

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages[self._chat(params)].get(int(params.get("message_id", 0)))
        if message is None or not message["by_bot"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _new_message_id(self, chat_id: int) -> int:
        found = self._next_message[chat_id]
        self._next_message[chat_id] += 1
        return found

    # -- webhook delivery ------------------------------------------------------------------
    def _start_pump(self) -> None:
        if self.webhook.get("url") and (self._pump is None or self._pump.done()):
            self._pump = asyncio.get_running_loop().create_task(self._deliver())

    async def _deliver(self) -> None:
        """Post pending updates to the webhook one at a time; keep those not answered with 2xx."""
        async with aiohttp.ClientSession() as session:
            while self.webhook.get("url") and self.pending:
                update = self.pending[0]
                status = await self.post_webhook(update, self.webhook.get("secret_token"), session)
                if 200 <= status < 300:
                    self.pending.remove(update)
                else:
                    await asyncio.sleep(0.05)  # Telegram retries later; a short wait is enough here

    async def post_webhook(self, body: Any, secret: str | None,
                           session: aiohttp.ClientSession | None = None) -> int:
        """POST `body` (an update dict, or raw bytes) to the webhook URL; returns the status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        own = session is None
        session = session or aiohttp.ClientSession()
        try:
            async with session.post(self.webhook["url"], data=data, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=10)) as response:
                self.webhook_statuses.append(response.status)
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            self.webhook_statuses.append(0)
            return 0
        finally:
            if own:
                await session.close()
