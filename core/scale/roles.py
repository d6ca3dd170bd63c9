"""Which process does what when the bus runs on Redis, and the config checks for it."""

from __future__ import annotations

from ..config import InterplayConfig
from ..errors import ConfigError


def require_redis(config: InterplayConfig, command: str) -> None:
    """ConfigError unless both the bus and the store are on Redis."""
    if config.bus.backend != "redis":
        raise ConfigError(f'{config.source}: {command} needs [bus] backend = "redis" (and a [redis] table)')
    if config.store.backend != "redis":
        raise ConfigError(
            f'{config.source}: with [bus] backend = "redis" set [store] backend = "redis" too, '
            "so that any worker can serve any conversation"
        )
