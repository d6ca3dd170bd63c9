"""Fixtures for the scale-out tests: a real redis-server, worker processes, an in-process ingress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from interplay.core.config import InterplayConfig
from interplay.core.hookspecs import hookimpl
from interplay.testing import FakeChannel

from .redis_server import MISSING, RedisServer, find_redis_server

URL_ENV = "INTERPLAY_TEST_REDIS_URL"
fake_channel_plugin = SimpleNamespace(register_channels=hookimpl(lambda register: register(FakeChannel)))
_skipped_for_missing_redis: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and MISSING in str(report.longrepr):
        _skipped_for_missing_redis.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say it loudly: a skipped Redis test is a test that did not run."""
    if _skipped_for_missing_redis:
        terminalreporter.section("REDIS TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"{len(_skipped_for_missing_redis)} test(s): {MISSING}", red=True)


def _require_redis() -> None:
    if find_redis_server()[0] is None:
        pytest.skip(MISSING)


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the tests that do not restart it."""
    _require_redis()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(shared_redis: RedisServer) -> RedisServer:
    """The shared server, emptied before each test."""
    with __import__("socket").create_connection(("127.0.0.1", shared_redis.port), timeout=5) as s:
        s.sendall(b"FLUSHALL\r\n")
        assert s.recv(64).startswith(b"+OK")
    return shared_redis


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that kill it."""
    _require_redis()
    server = RedisServer(tmp_path / "redis-data")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


def scale_config(url: str, tmp_path: Path, **redis: Any) -> dict[str, Any]:
    """A config for ingress and workers on this Redis (the URL comes through an $env reference)."""
    os.environ[URL_ENV] = url
    return {
        "interplay": {"data_dir": str(tmp_path), "log_level": "INFO"},
        "pipeline": {"channels": ["fake"], "generator": "echo"},
        # one test user ("u1") talks in many conversations at once: no per-person queue cap here
        # (test_one_sender_cannot_fill_the_redis_bus_and_starve_everyone_else sets its own)
        "bus": {"backend": "redis", "shutdown_deadline": 2.0, "sender_backlog": 0},
        "store": {"backend": "redis"},
        "redis": {"url": f"$env:{URL_ENV}", "partitions": 8, "lease_ttl": 1.5, **redis},
        "plugins": {"echo": {}},
        "limits": {"messages_per_minute": 0},  # tests send fast (the default limit: test_limits.py)
    }


def config_of(data: dict[str, Any]) -> InterplayConfig:
    return InterplayConfig.model_validate({**data, "source": "test"})


def write_toml(data: dict[str, Any], path: Path) -> Path:
    """Just enough TOML for these configs: tables of scalars and lists, nested one level."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []
    for table, items in data.items():
        if table == "plugins":
            for name, settings in items.items():
                lines.append(f"[plugins.{name}]")
                lines += [f"{k} = {value(v)}" for k, v in settings.items()]
            continue
        lines.append(f"[{table}]")
        lines += [f"{k} = {value(v)}" for k, v in items.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class WorkerProcesses:
    """`interplay worker` processes started from a config file; killed at the end of the test."""

    def __init__(self, config_path: Path, log_dir: Path) -> None:
        self.config_path = config_path
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "interplay.core", "--config", str(self.config_path), "worker"]
        with open(self.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen([*cmd, "--name", name], stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Any]:
    """A factory: `workers(config_dict)` returns WorkerProcesses for that config."""
    made: list[WorkerProcesses] = []

    def make(data: dict[str, Any]) -> WorkerProcesses:
        data = {**data, "pipeline": {**data["pipeline"], "channels": []}}
        group = WorkerProcesses(write_toml(data, tmp_path / f"worker{len(made)}.toml"), tmp_path)
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop_all()
