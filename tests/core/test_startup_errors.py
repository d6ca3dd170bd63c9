"""A misconfigured enabled plugin is an error at start: `error: ...` and exit 1 for chat, run and
check-config; `run_bot()` raises the plugin's own error (issue #21)."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest
from interplay.core import Generator, PluginError, PluginSettings, hookimpl
from interplay.core.errors import StartupError
from interplay.testing import run_bot

INTERPLAY = [sys.executable, "-m", "interplay.core"]
BAD = '[pipeline]\ngenerator = "echo"\n[plugins.echo]\nprefx = "> "\n'


def _cli(tmp_path, *args: str, env: dict[str, str] | None = None, text: str = "hello\n"):
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text(BAD)
    # never the user's own data or cache dirs: a store another Interplay wrote there must not matter
    env = env or {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
                  "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run(
        [*INTERPLAY, *args, "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env or {**os.environ, "INTERPLAY_INTERPLAY__DATA_DIR": str(tmp_path / "data")},  # not ~/.local
    )


@pytest.mark.parametrize("command", [["chat", "--memory"], ["run"], ["check-config"]])
def test_invalid_settings_of_an_enabled_plugin_are_an_error_and_exit_1(tmp_path, command):
    done = _cli(tmp_path, *command)
    assert done.returncode == 1, done.stdout
    assert (
        "error: " in done.stderr
        and "unknown key 'plugins.echo.prefx' (did you mean 'prefix'?)" in done.stderr
    )
    assert "Sorry" not in done.stdout


def test_an_enabled_plugin_whose_extra_is_missing_stops_run_with_the_pip_command(tmp_path):
    # simulate a machine without python-telegram-bot: a `telegram` that cannot be imported
    fake = tmp_path / "site"
    (fake / "telegram").mkdir(parents=True)
    (fake / "telegram" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'telegram'\", name='telegram')\n"
    )
    (tmp_path / "config.toml").write_text('[pipeline]\nchannels = ["telegram"]\n')
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake), "HOME": str(tmp_path)}
    done = _cli(tmp_path, "run", env=env)
    assert done.returncode == 1
    assert "error: channel plugin 'telegram' is not usable" in done.stderr
    assert "pip install 'interplay[telegram]'" in done.stderr


class _Settings(PluginSettings):
    pass


class _NoModel(Generator):
    name = "nomodel"
    Settings = _Settings

    async def start(self) -> None:
        raise PluginError("generator 'nomodel' has no model: run `interplay models prepare`")

    async def stream(self, conversation):  # pragma: no cover - never started
        yield ""


_plugin = types.SimpleNamespace(register_generators=hookimpl(lambda register: register(_NoModel)))


async def test_run_bot_raises_the_plugins_own_error():
    with pytest.raises(
        PluginError, match=r"^generator 'nomodel' has no model: run `interplay models prepare`$"
    ):
        async with run_bot(_plugin, generator="nomodel", installed=False):
            pass


async def test_run_bot_raises_invalid_settings_naming_the_key():
    with pytest.raises(PluginError, match=r"unknown key 'plugins.echo.prefx' \(did you mean 'prefix'\?\)"):
        async with run_bot(generator="echo", settings={"echo": {"prefx": "> "}}):
            pass


async def test_every_failing_plugin_is_reported_at_once():
    with pytest.raises(StartupError) as caught:
        async with run_bot(_plugin, generator="nomodel", analyzers=["no-such"], installed=False):
            pass
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 and "no analyzer plugin named 'no-such'" in lines[0] and "nomodel" in lines[1]
