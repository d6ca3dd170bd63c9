"""Config validation and plugin discovery: typos and broken plugins are named, not hidden."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

import pytest
from interplay.core import ConfigError, PluginError, load_config, resolve_secret
from interplay.core.plugins import PluginRegistry, load_registry

from . import fakes

INTERPLAY = [sys.executable, "-m", "interplay.core"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_typo_in_a_core_key_names_the_key_the_file_and_a_suggestion(tmp_path):
    path = write(tmp_path, "[bus]\nmax_pendng = 5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: unknown key 'bus.max_pendng' (did you mean 'max_pending'?)"


def test_a_wrong_type_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"'store.history_turns': Input should be a valid integer"):
        load_config(write(tmp_path, "[store]\nhistory_turns = 'many'\n"))


def test_invalid_toml_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[bus\n"))


def test_a_typo_in_a_plugin_table_names_the_plugin_key(tmp_path):
    config = load_config(write(tmp_path, "[plugins.recording]\nmax_dely = 1\n"))
    registry = load_registry(config, {"fakes": fakes}, installed=False)
    with pytest.raises(
        PluginError, match=r"unknown key 'plugins.recording.max_dely' \(did you mean 'max_delay'\?\)"
    ):
        registry.settings_for(registry.component("generator", "recording"), config)


def test_inline_secrets_are_refused_and_env_references_resolve(monkeypatch):
    from interplay.core import SecretRef
    from pydantic import TypeAdapter, ValidationError

    with pytest.raises(ValidationError, match="never written inline"):
        TypeAdapter(SecretRef).validate_python("123456:ABC")
    monkeypatch.setenv("MY_TOKEN", "s3cret")
    assert resolve_secret("$env:MY_TOKEN", "the token") == "s3cret"
    monkeypatch.delenv("MY_TOKEN")
    with pytest.raises(ConfigError, match="export MY_TOKEN="):
        resolve_secret("$env:MY_TOKEN", "the token")


def test_a_plugin_that_fails_to_import_is_reported_by_name_and_the_rest_load(monkeypatch):
    real = md.entry_points

    def entry_points(group):
        found = list(real(group=group))
        return [*found, md.EntryPoint("broken", "interplay_no_such_module", group)]

    monkeypatch.setattr(md, "entry_points", entry_points)
    registry = PluginRegistry()
    registry.load_entry_points()
    assert "No module named 'interplay_no_such_module'" in (registry.infos["broken"].error or "")
    assert registry.infos["echo"].error is None
    with pytest.raises(PluginError, match="no generator plugin named 'nope'"):
        registry.collect(load_config("/dev/null"))
        registry.component("generator", "nope")


def test_cli_chat_reads_a_pipe_and_prints_the_echo_reply(tmp_path):
    done = subprocess.run(
        [*INTERPLAY, "--config", "/dev/null", "chat", "--generator", "echo", "--memory"],
        input="hello\nhow are you\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello\nhow are you\n"


def test_cli_expected_errors_are_one_line_with_the_next_step(tmp_path):
    path = write(tmp_path, "[bus]\nmax_pendng = 5\n")
    done = subprocess.run(
        [*INTERPLAY, "--config", str(path), "check-config"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {path}: unknown key 'bus.max_pendng' (did you mean 'max_pending'?)"
    assert "Traceback" not in done.stderr


def test_check_config_flags_a_table_for_no_installed_plugin(tmp_path):
    path = write(
        tmp_path, "[pipeline]\ngenerator = 'echo'\nchannels = ['console']\n[plugins.ecoh]\nprefix = 'x'\n"
    )
    done = subprocess.run(
        [*INTERPLAY, "--config", str(path), "check-config"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "[plugins.ecoh] names no installed plugin" in done.stderr


def test_the_shipped_config_is_valid():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [*INTERPLAY, "--config", str(root / "config.toml"), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_plugins_command_lists_builtins(tmp_path):
    done = subprocess.run(
        [*INTERPLAY, "--config", "/dev/null", "plugins"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()[1:]}
    assert rows["console"] == "channel" and rows["echo"] == "generator"
