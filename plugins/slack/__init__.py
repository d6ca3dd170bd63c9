"""The `slack` channel plugin: Slack's Events API in, threaded streamed replies out.

Kept light: slack_sdk and aiohttp load only when the channel is registered.
"""

from __future__ import annotations

from typing import Any

from interplay.core import Register, hookimpl


@hookimpl
def register_channels(register: Register) -> None:
    from .channel import SlackChannel

    register(SlackChannel)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import register

    register(cli)
