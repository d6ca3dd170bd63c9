"""The `telegram` channel: Interplay as a Telegram bot (long polling or webhook).

Kept light on purpose: python-telegram-bot is imported only when the channel is registered.
"""

from __future__ import annotations

from interplay.core import hookimpl


@hookimpl
def register_channels(register: object) -> None:
    from .channel import TelegramChannel

    register(TelegramChannel)  # type: ignore[operator]


@hookimpl
def register_commands(cli: object) -> None:
    from .cli import register

    register(cli)  # type: ignore[arg-type]
