"""The `webchat` channel: a chat page and an HTTP API served by one aiohttp server.

The page talks to the bot over a WebSocket that streams each reply token by token, with 👍/👎 on
every reply (stored as feedback with the reply's model version). Other systems send messages into
a conversation and read its history through `/api/v1/...` with a bearer token.
"""

from __future__ import annotations

from typing import Any

from interplay.core import hookimpl


@hookimpl
def register_channels(register: Any, config: Any) -> None:
    from .channel import WebchatChannel

    register(WebchatChannel)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import webchat_group

    cli.add_command(webchat_group)
