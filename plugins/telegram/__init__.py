"""The `telegram` channel: Interplay as a Telegram bot (long polling or webhook).

Kept light on purpose: python-telegram-bot is imported only when the channel is registered.
"""

from __future__ import annotations

from typing import Any

from interplay.core import Register, hookimpl


@hookimpl
def register_channels(register: Register) -> None:
    from .channel import TelegramChannel

    register(TelegramChannel)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import register

    register(cli)
