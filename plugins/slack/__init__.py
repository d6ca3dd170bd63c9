"""The `slack` channel plugin: Slack's Events API in, threaded streamed replies out.

Kept light: slack_sdk and aiohttp load only when the channel is registered.
"""

from __future__ import annotations

from interplay.core import hookimpl


@hookimpl
def register_channels(register: object) -> None:
    from .channel import SlackChannel

    register(SlackChannel)  # type: ignore[operator]


@hookimpl
def register_commands(cli: object) -> None:
    from .cli import register

    register(cli)  # type: ignore[arg-type]
