"""`OpenAIServer`: any Interplay generator behind an OpenAI-compatible chat-completions endpoint.

`interplay serve-openai` runs it: other programs (and Interplay's own `openai` generator) talk to the
local ONNX model as they would to any OpenAI-compatible server. It speaks the protocol's subset that
chat clients use: `POST /v1/chat/completions` (streamed as server-sent events, or whole) and
`GET /v1/models`. The served generator applies its own prompt policy; a client's system message is
not passed on (a `Conversation` has no place for one).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web
from interplay.core import Conversation, Generator, Message, Turn, new_id

log = logging.getLogger("interplay.serve_openai")
ROLES = {"user", "assistant"}


class OpenAIServer:
    """Serves one started generator; `app` is the aiohttp application."""

    def __init__(self, generator: Generator, *, api_key: str = "", model: str | None = None) -> None:
        self.generator = generator
        self.api_key = api_key
        self.model = model or generator.model_version or generator.name
        self.app = web.Application(middlewares=[self._auth], client_max_size=1 << 20)
        self.app.router.add_get("/v1/models", self.models)
        self.app.router.add_post("/v1/chat/completions", self.completions)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.api_key:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                return _error(401, "invalid API key", "invalid_api_key")
        return await handler(request)

    async def models(self, request: web.Request) -> web.Response:
        card = {"id": self.model, "object": "model", "created": 0, "owned_by": "interplay"}
        return web.json_response({"object": "list", "data": [card]})

    async def completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
            conversation = to_conversation(body)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        if body.get("model") not in (None, self.model):
            return _error(
                404,
                f"the model {body.get('model')!r} does not exist; this server has {self.model!r}",
                "model_not_found",
            )
        completion_id = f"chatcmpl-{new_id()[:24]}"
        if body.get("stream"):
            return await self._stream(request, conversation, completion_id)
        text = "".join([d async for d in self.generator.stream(conversation)])
        return web.json_response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
            }
        )

    async def _stream(self, request: web.Request, conversation: Conversation, cid: str) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        created = int(time.time())

        async def event(delta: dict[str, str], finish: str | None = None) -> None:
            chunk = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await event({"role": "assistant", "content": ""})
        try:
            async for delta in self.generator.stream(conversation):
                await event({"content": delta})
        except Exception as exc:  # the status line is gone: report it the way OpenAI does, in the stream
            log.exception("generator %r failed while streaming", self.generator.name)
            error = {"error": {"message": f"generation failed: {type(exc).__name__}", "type": "server_error"}}
            await response.write(f"data: {json.dumps(error)}\n\n".encode())
            return response
        await event({}, "stop")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def to_conversation(body: dict[str, Any]) -> Conversation:
    """The last user message is the message; the user and assistant turns before it, the history."""
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    turns = [m for m in messages if m.get("role") in ROLES]
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("the last user or assistant message must be from the user")
    texts = [(m["role"], _content(m["content"])) for m in turns]
    conversation_id = new_id()
    user = str(body.get("user") or "openai-api")
    history = tuple(Turn(role, text, new_id()) for role, text in texts[:-1])
    message = Message(channel="openai-api", conversation_id=conversation_id, user_id=user, text=texts[-1][1])
    return Conversation(conversation_id, message, history)


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # the newer "content parts" form: keep the text parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError("content must be a string or a list of text parts")


def _error(status: int, message: str, code: str) -> web.Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return web.json_response({"error": {"message": message, "type": kind, "code": code}}, status=status)
