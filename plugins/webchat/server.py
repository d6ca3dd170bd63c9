"""The web chat's routes: the page, sessions, the WebSocket, and the HTTP API.

- `GET /` and `/static/*`: the chat page.
- `POST /session`: a signed session token for a new visitor (same origin only; `anonymous = true`).
- `GET /ws`: the page's WebSocket (same origin only). The first frame is `{"type": "auth", "token"}`;
  then `{"type": "message", "id", "text"}` and `{"type": "feedback", "reply_id", "score"}` go in, and
  `ready`, `ack`, `start`, `delta`, `end`, `feedback_ok` and `error` events come out.
- `/api/v1/...` with `Authorization: Bearer <api_token>`: send a message and get its reply (whole, or
  streamed as server-sent events), read a conversation's history, rate a reply.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from interplay.core import Feedback, InterplayError, Message

from .auth import InvalidToken, Session, origin_allowed
from .channel import Waiter, reply_json

if TYPE_CHECKING:
    from .channel import WebchatChannel

log = logging.getLogger("interplay.webchat")
MAX_ID = 100  # characters of a client message id or a conversation id
LIMITED_GRACE = 2.0  # seconds to wait for the polite refusal of a limited message before a 429


def build_app(channel: WebchatChannel, *, max_body: int) -> web.Application:
    routes = Routes(channel)
    app = web.Application(client_max_size=max_body, middlewares=[routes.guard])
    app.router.add_get("/", routes.page)
    app.router.add_get("/static/{name}", routes.static)
    app.router.add_post("/session", routes.session)
    app.router.add_get("/ws", routes.websocket)
    app.router.add_post("/api/v1/conversations/{conversation}/messages", routes.api_send)
    app.router.add_get("/api/v1/conversations/{conversation}/history", routes.api_history)
    app.router.add_post("/api/v1/replies/{reply}/feedback", routes.api_feedback)
    return app


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Routes:
    def __init__(self, channel: WebchatChannel) -> None:
        self.channel = channel
        self.settings = channel.settings

    # -- checks every request passes -----------------------------------------------------------
    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        same_or_listed = origin_allowed(origin, request.host, request.scheme, self.settings.allowed_origins)
        if request.path.startswith("/api/"):
            if origin is not None and not same_or_listed:  # a page elsewhere using someone's token
                return _error(403, f"origin {origin} is not allowed")
            if not self.channel.api_token:
                return _error(404, "the HTTP API is off: set api_token in [plugins.webchat]")
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), self.channel.api_token.encode()):
                return _error(401, "missing or wrong API token (Authorization: Bearer ...)")
        elif request.path in ("/session", "/ws") and not same_or_listed:
            return _error(403, f"origin {origin or '(none)'} is not allowed: add it to allowed_origins")
        return await handler(request)

    # -- the page ------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        html = _asset("index.html").replace("{{title}}", _html_escape(self.settings.title))
        return web.Response(text=html, content_type="text/html", headers=self._headers())

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ("chat.js", "chat.css"):
            raise web.HTTPNotFound()
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        return web.Response(text=_asset(name), content_type=kind, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        ancestors = " ".join(["'self'", *self.settings.allowed_origins])  # the sites that may embed it
        csp = f"default-src 'self'; connect-src 'self'; frame-ancestors {ancestors}"
        return {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        }

    async def session(self, request: web.Request) -> web.Response:
        if not self.settings.anonymous:
            return _error(403, "sessions come from this deployment: sign one with `interplay webchat token`")
        from interplay.core import new_id

        assert self.channel.signer is not None
        token = self.channel.signer.sign(new_id(), ttl=self.settings.session_ttl)
        return web.json_response({"token": token})

    # -- the WebSocket -------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        session = await self._authenticate(ws)
        if session is None:
            return ws
        conversation = session.conversation_id
        self.channel.add_socket(conversation, ws)
        try:
            await ws.send_json(
                {
                    "type": "ready",
                    "user": session.user_id,
                    "conversation": conversation,
                    "history": await self._history(conversation, self.settings.history_turns),
                }
            )
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    break
                await self._on_frame(ws, session, frame.data)
        finally:
            self.channel.forget_socket(conversation, ws)
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> Session | None:
        assert self.channel.signer is not None
        try:
            first = await ws.receive_json(timeout=self.settings.auth_timeout)
            return self.channel.signer.verify(str(first.get("token", "")))
        except (InvalidToken, ValueError, TypeError, AttributeError, TimeoutError) as exc:
            why = str(exc) if isinstance(exc, InvalidToken) else "the first frame must be {type: auth, token}"
            await ws.send_json({"type": "error", "message": why})
            await ws.close(code=4401, message=why.encode()[:120])
            return None

    async def _on_frame(self, ws: web.WebSocketResponse, session: Session, data: str) -> None:
        try:
            frame = json.loads(data)
            kind = frame["type"]
        except (ValueError, KeyError, TypeError):
            await ws.send_json({"type": "error", "message": "frames are JSON objects with a type"})
            return
        if kind == "message":
            await self._ws_message(ws, session, frame)
        elif kind == "feedback":
            event = await self._rate(
                frame.get("reply_id"),
                session.user_id,
                frame.get("score"),
                conversation=session.conversation_id,
            )
            await ws.send_json(event)
        else:
            await ws.send_json({"type": "error", "message": f"unknown frame type {kind!r}"})

    async def _ws_message(self, ws: web.WebSocketResponse, session: Session, frame: dict[str, Any]) -> None:
        client_id, text = frame.get("id"), frame.get("text")
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_ID or not isinstance(text, str):
            await ws.send_json(
                {"type": "error", "message": f"a message needs an id (1-{MAX_ID} chars) and text"}
            )
            return
        message = Message(
            channel=self.channel.name,
            conversation_id=session.conversation_id,
            user_id=session.user_id,
            text=text,
            external_id=f"{session.user_id}:{client_id}",  # a resend after a reconnect is a duplicate
            meta={"client_id": client_id, "via": "page"},
        )
        outcome = await self._submit(message)
        await ws.send_json({"type": "ack", "id": client_id, "status": outcome})
        if outcome == "accepted":  # the person's other tabs show it too
            event = {"type": "user", "id": client_id, "text": text}
            await self.channel.broadcast(session.conversation_id, event, skip=ws)

    async def _submit(self, message: Message) -> str:
        assert self.channel.inbox is not None
        try:
            return (await self.channel.inbox.submit(message)).value
        except InterplayError as exc:  # the bot is shutting down: the page may resend the same id
            log.info("webchat message not taken: %s", exc)
            return "unavailable"

    # -- feedback ------------------------------------------------------------------------------
    async def _rate(
        self, reply_id: Any, user: str, score: Any, *, conversation: str | None
    ) -> dict[str, Any]:
        if score not in (1, -1) or not isinstance(reply_id, str):
            return {"type": "error", "message": "feedback needs a reply_id and a score of 1 or -1"}
        reply = await self.channel.context.store.get_reply(reply_id)
        if reply is None or (conversation is not None and reply.conversation_id != conversation):
            return {"type": "error", "message": "no such reply in this conversation"}
        earlier = await self.channel.context.store.feedback_for([reply_id])
        if not any(f.user_id == user and f.score == score and f.kind == "explicit" for f in earlier):
            assert self.channel.inbox is not None
            await self.channel.inbox.feedback(
                Feedback(
                    reply_id,
                    reply.conversation_id,
                    user,
                    float(score),
                    channel=self.channel.name,
                    model_version=reply.model_version,
                )
            )
        return {
            "type": "feedback_ok",
            "reply_id": reply_id,
            "score": score,
            "model_version": reply.model_version,
        }

    # -- the HTTP API --------------------------------------------------------------------------
    async def api_send(self, request: web.Request) -> web.StreamResponse:
        conversation = request.match_info["conversation"]
        try:
            body = await request.json()
            text, user = body["text"], str(body.get("user") or "api")
            client_id = body.get("id")
            assert isinstance(text, str) and (client_id is None or isinstance(client_id, str))
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(
                400, 'the body is JSON: {"text": "...", "user": "...", "id": "...", "stream": false}'
            )
        if len(conversation) > MAX_ID or (client_id is not None and not 0 < len(client_id) <= MAX_ID):
            return _error(400, f"conversation ids and message ids have 1-{MAX_ID} characters")
        message = Message(
            channel=self.channel.name,
            conversation_id=conversation,
            user_id=user,
            text=text,
            external_id=f"api:{client_id}" if client_id else None,
            meta={"client_id": client_id, "via": "api"},
        )
        waiter = self.channel.waiters[message.id] = Waiter()
        try:
            outcome = await self._submit(message)
            if outcome in ("duplicate", "unavailable"):
                status = 409 if outcome == "duplicate" else 503
                return web.json_response({"status": outcome, "message_id": None}, status=status)
            if body.get("stream"):
                return await self._stream(request, waiter, outcome, message)
            reply = await self._whole(waiter, outcome)
            if reply is None:
                return self._no_reply(outcome)
            return web.json_response(
                {"status": outcome, "message_id": message.id, "reply": reply_json(reply)}
            )
        finally:
            self.channel.waiters.pop(message.id, None)

    async def _whole(self, waiter: Waiter, outcome: str) -> Any:
        wait = LIMITED_GRACE if outcome == "limited" else self.settings.reply_timeout
        try:
            async with asyncio.timeout(wait):
                while True:
                    kind, item = await waiter.items.get()
                    if kind == "end":
                        return item
        except TimeoutError:
            return None

    def _no_reply(self, outcome: str) -> web.Response:
        if outcome == "limited":
            return _error(429, "over a limit (rate or size): slow down")
        return _error(504, f"no reply within {self.settings.reply_timeout:.0f}s")

    async def _stream(
        self, request: web.Request, waiter: Waiter, outcome: str, message: Message
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)

        async def event(name: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        await event("accepted", {"status": outcome, "message_id": message.id})
        wait = LIMITED_GRACE if outcome == "limited" else self.settings.reply_timeout
        try:
            async with asyncio.timeout(wait):
                while True:
                    kind, item = await waiter.items.get()
                    if kind == "delta":
                        await event("delta", {"text": item})
                    else:
                        await event("reply", reply_json(item))
                        break
        except TimeoutError:
            await event("error", {"error": "no reply in time" if outcome != "limited" else "over a limit"})
        await response.write_eof()
        return response

    async def api_history(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return _error(400, "limit is a number of turns")
        conversation = request.match_info["conversation"]
        turns = await self._history(conversation, max(0, min(limit, 1000)))
        return web.json_response({"conversation_id": conversation, "turns": turns})

    async def api_feedback(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 'the body is JSON: {"score": 1, "user": "..."}')
        event = await self._rate(
            request.match_info["reply"], str(body.get("user") or "api"), body.get("score"), conversation=None
        )
        if event["type"] == "error":
            return _error(400 if "score" in event["message"] else 404, event["message"])
        return web.json_response({k: v for k, v in event.items() if k != "type"})

    async def _history(self, conversation: str, limit: int) -> list[dict[str, Any]]:
        turns = await self.channel.context.store.history(conversation, limit)
        return [{"role": t.role, "text": t.text, "id": t.id, "time": t.time} for t in turns]


def _asset(name: str) -> str:
    return (resources.files("interplay.plugins.webchat") / "static" / name).read_text(encoding="utf-8")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
