"""The one error family whose messages are fit to show a person."""

from __future__ import annotations

import sys


class InterplayError(Exception):
    """An expected failure; its message says what went wrong and what to do next."""


class ConfigError(InterplayError):
    """config.toml is missing, malformed or names an unknown key."""


class PluginError(InterplayError):
    """A plugin failed to import, configure or start."""


class StartupError(PluginError):
    """Enabled plugins could not be built or started: the bot does not run half-configured.

    `failures` holds (kind, name, the plugin's own exception) for each, in start-up order.
    """

    def __init__(self, failures: list[tuple[str, str, BaseException]]) -> None:
        self.failures = failures
        super().__init__("\n".join(startup_line(kind, name, exc) for kind, name, exc in failures))


def startup_line(kind: str, name: str, exc: BaseException) -> str:
    """One line naming the plugin and why it could not start (its own message for an InterplayError)."""
    why = str(exc) if isinstance(exc, InterplayError) else f"{type(exc).__name__}: {exc}"
    prefix = f"{kind} plugin {name!r}"
    return why if why.startswith(prefix) else f"{prefix} could not start: {why}"


class BusClosed(InterplayError):
    """The bot is shutting down and takes no new messages: leave the message unacknowledged upstream."""


class StoreError(InterplayError):
    """The conversation store cannot be opened or migrated."""


class Unavailable(InterplayError):
    """A service the bot needs (the store, Redis) cannot be reached right now: retry later."""


class ModelError(InterplayError):
    """A model directory is missing, corrupt or incompatible."""


class Undeliverable(InterplayError):
    """A channel cannot deliver a reply for good (bot blocked, chat gone); not retried."""


_REDIS_TRANSIENT = ("ConnectionError", "TimeoutError", "BusyLoadingError", "TryAgainError",
                    "ReadOnlyError", "ClusterDownError", "MasterDownError")


def transient(exc: BaseException) -> bool:
    """True when `exc` is about the environment (store busy or locked, Redis down, disk full, network),
    not about the data being handled: retrying the same input later can succeed, so it must not be dropped.
    """
    if isinstance(exc, Unavailable | OSError | TimeoutError):  # ConnectionError, disk full (ENOSPC), ...
        return True
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.OperationalError):  # locked, busy, disk full, I/O
        return True
    redis_errors = sys.modules.get("redis.exceptions")  # core never imports redis itself
    if redis_errors is not None:
        kinds = tuple(getattr(redis_errors, name) for name in _REDIS_TRANSIENT if hasattr(redis_errors, name))
        if isinstance(exc, kinds):
            return True
    return isinstance(exc, StoreError) and exc.__cause__ is not None and transient(exc.__cause__)
