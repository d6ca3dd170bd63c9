"""Local servers on 127.0.0.1 for the openai generator: Interplay's own, or a scripted fake for faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app on a free port; yields its base URL (with /v1)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class FaultyServer:
    """Answers chat completions by script: each request takes the next fault (or streams `words`).

    Faults: ("status", code, headers) answers with that HTTP error; ("cut", n) streams n words and
    drops the connection; ("error-event", n) streams n words then an error event; ("slow", s) waits.
    """

    def __init__(self, words: list[str], faults: list[tuple[Any, ...]] | None = None) -> None:
        self.words = words
        self.faults = list(faults or [])
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.completions)
        self.app.router.add_get("/v1/models", self.models)

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def completions(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        fault = self.faults.pop(0) if self.faults else ("ok",)
        if fault[0] == "status":
            error = {"error": {"message": f"fault {fault[1]}", "type": "server_error"}}
            return web.json_response(error, status=fault[1], headers=fault[2] if len(fault) > 2 else {})
        if fault[0] == "slow":
            import asyncio

            await asyncio.sleep(fault[1])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk({"role": "assistant", "content": ""}))
        upto = fault[1] if fault[0] in ("cut", "error-event") else len(self.words)
        for word in self.words[:upto]:
            await response.write(chunk({"content": word}))
        if fault[0] == "cut":
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-stream
            return response
        if fault[0] == "error-event":
            await response.write(b'data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n')
            return response
        await response.write(chunk({}, "stop"))
        await response.write(b"data: [DONE]\n\n")
        return response


Factory = Callable[..., Any]
