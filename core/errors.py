"""The one error family whose messages are fit to show a person."""

from __future__ import annotations


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


class ModelError(InterplayError):
    """A model directory is missing, corrupt or incompatible."""


class Undeliverable(InterplayError):
    """A channel cannot deliver a reply for good (bot blocked, chat gone); not retried."""
