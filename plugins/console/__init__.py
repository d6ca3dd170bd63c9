"""The `console` channel: a terminal chat for developers, scriptable through a pipe."""

from __future__ import annotations

from interplay.core import Register, hookimpl


@hookimpl
def register_channels(register: Register) -> None:
    from .channel import ConsoleChannel

    register(ConsoleChannel)
