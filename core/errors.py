"""The one error family whose messages are fit to show a person."""

from __future__ import annotations


class InterplayError(Exception):
    """An expected failure; its message says what went wrong and what to do next."""


class ConfigError(InterplayError):
    """config.toml is missing, malformed or names an unknown key."""


class PluginError(InterplayError):
    """A plugin failed to import, configure or start."""


class StoreError(InterplayError):
    """The conversation store cannot be opened or migrated."""


class ModelError(InterplayError):
    """A model directory is missing, corrupt or incompatible."""


class Undeliverable(InterplayError):
    """A channel cannot deliver a reply for good (bot blocked, chat gone); not retried."""
