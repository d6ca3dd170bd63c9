"""The wire format of the fake Bot API server: request parameters, error bodies, text checks."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An error answer from a Bot API method."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def phrase(status: int) -> str:
    return {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 403: "Forbidden", 400: "Bad Request"}.get(status, "Error")


def error(status: int, description: str, retry_after: float | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
        body["description"] = f"Too Many Requests: retry after {retry_after}"
    return web.json_response(body, status=status)


def public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("by_bot", "edits", "reply_to")}


async def params_of(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string, a form or a JSON body; JSON-encoded values decoded."""
    found: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        found.update(await request.json())
    elif request.can_read_body:
        found.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key, value in list(found.items()):
        if isinstance(value, str) and value[:1] in "[{" and value:
            with contextlib.suppress(ValueError):
                found[key] = json.loads(value)
        elif key in _INTEGERS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                found[key] = int(value)
    return found


_INTEGERS = ("chat_id", "message_id", "message_thread_id", "offset", "limit")


def check_text(params: dict[str, Any]) -> str:
    text = str(params.get("text", ""))
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text.encode("utf-16-le")) // 2 > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    mode = params.get("parse_mode")
    if mode == "MarkdownV2" and _unescaped(text, "_*[]()~`>#+-=|{}.!"):
        raise ApiError(400, "Bad Request: can't parse entities: character is reserved and must be escaped")
    if mode == "HTML" and text.count("<") != text.count(">"):
        raise ApiError(400, "Bad Request: can't parse entities: unsupported start tag")
    return text


def _unescaped(text: str, reserved: str) -> bool:
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in reserved:
            return True
    return False
