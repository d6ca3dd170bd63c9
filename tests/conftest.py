"""Shared test set-up: no test reaches a network or a model hub."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Fuzz tests explore new inputs on developers' machines; in CI they replay a fixed sequence, so a
# submission's CI result does not depend on luck. New findings are pinned with @example.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")


def pytest_report_header() -> str:
    """Which Redis server the scale-out tests start (tests/core/scale/redis_server.py finds it)."""
    from tests.core.scale.redis_server import find_redis_server

    exe, origin = find_redis_server()
    return f"redis server: {exe} ({origin})" if exe else "redis server: NONE (the Redis tests are skipped)"
