"""The `console` channel: a terminal chat for developers, scriptable through a pipe."""

from __future__ import annotations

from interplay.core import hookimpl


@hookimpl
def register_channels(register: object) -> None:
    from .channel import ConsoleChannel

    register(ConsoleChannel)  # type: ignore[operator]
