"""`interplay doctor` on configs that are fine and configs with each kind of problem."""

from __future__ import annotations

import json
import re
import socket
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from interplay.core import Channel, PluginSettings, SecretRef, hookimpl
from interplay.core import doctor as doctor_module
from interplay.core import plugins as plugins_module
from interplay.core.cli import cli
from packaging.requirements import Requirement
from pydantic import Field


class HookSettings(PluginSettings):
    token: SecretRef = "$env:DOCTOR_TEST_TOKEN"
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0)


class HookChannel(Channel):
    name = "hooky"
    Settings = HookSettings


fake_plugin = SimpleNamespace(register_channels=hookimpl(lambda register: register(HookChannel)))


@pytest.fixture(autouse=True)
def with_fake_plugin(monkeypatch):
    real = plugins_module.load_registry
    monkeypatch.setattr(plugins_module, "load_registry", lambda config: real(config, {"hooky": fake_plugin}))


def _write_model(root, name, manifest, files=("model.onnx",)):
    directory = root / name
    directory.mkdir(parents=True)
    for file in files:
        (directory / file).write_bytes(b"onnx")
    (directory / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))


def _run(tmp_path, extra=""):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[interplay]\nmodels_dir = "{tmp_path / "models"}"\n[pipeline]\nchannels = ["console"]\n{extra}'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    return result.exit_code, result.output


def test_a_healthy_setup_exits_0(tmp_path):
    _write_model(tmp_path / "models", "intent", {"kind": "intent", "precision": "int8"})
    code, out = _run(tmp_path)
    assert code == 0, out
    assert "ok    model" in out and "intent (intent, int8)" in out
    assert "ok    channel console" in out and "ok    generator echo" in out
    assert "everything needed is in order" in out
    assert "onnxruntime" in out or "providers" in out


def test_broken_models_are_each_named_with_the_fix(tmp_path):
    models = tmp_path / "models"
    _write_model(models, "garbled", "{not json")
    _write_model(models, "nofile", {"kind": "intent"}, files=())
    _write_model(models, "short", {"kind": "generator", "files": {"model.onnx": {"size": 999}}})
    code, out = _run(tmp_path)
    assert code == 1
    assert "FAIL  model" in out
    assert "garbled: manifest.json is unreadable" in out
    assert "nofile: model.onnx is missing" in out
    assert "short: model.onnx has the wrong size (4 bytes, the manifest says 999)" in out
    assert "3 problem(s) to fix" in out and "interplay models prepare" in out


def test_no_models_is_a_warning_with_the_command_to_run(tmp_path):
    code, out = _run(tmp_path)
    assert code == 0
    assert "warn  models" in out and "run `interplay models prepare`" in out


def test_a_missing_token_fails_and_a_set_one_is_never_printed(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCTOR_TEST_TOKEN", raising=False)
    code, out = _run_with_channel(tmp_path)
    assert code == 1
    assert "FAIL  secret hooky.token" in out and "export DOCTOR_TEST_TOKEN=..." in out
    monkeypatch.setenv("DOCTOR_TEST_TOKEN", "s3cret-value-123456")
    code, out = _run_with_channel(tmp_path)
    assert code == 0, out
    assert "environment variable DOCTOR_TEST_TOKEN is set" in out
    assert "s3cret-value-123456" not in out


def _run_with_channel(tmp_path, table=""):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[interplay]\nmodels_dir = "{tmp_path}"\n[pipeline]\nchannels = ["hooky"]\n[plugins.hooky]\n{table}'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    return result.exit_code, result.output


def test_ports_in_use_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCTOR_TEST_TOKEN", "x" * 20)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = _run_with_channel(tmp_path, f"port = {port}\n")
        assert code == 1
        assert re.search(rf"FAIL  port plugins.hooky.port +127.0.0.1:{port} cannot be bound", out)
        config = tmp_path / "obs.toml"
        config.write_text(f"[observability]\nenabled = true\nport = {port}\n")
        result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
        assert result.exit_code == 1 and "FAIL  port observability" in result.output
    code, out = _run_with_channel(tmp_path, f"port = {port}\n")
    assert code == 0 and f"127.0.0.1:{port} is free" in out


def test_an_unknown_plugin_fails(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\nanalyzers = ["no-such-thing"]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 1
    assert "FAIL  analyzer no-such-thing" in result.output and "no analyzer plugin named" in result.output


def test_an_unsatisfied_dependency_fails_with_the_pip_command():
    finding = doctor_module._dependency(Requirement("click>=999"))
    assert finding.level == "FAIL" and "pip install 'click>=999'" in finding.fix
    assert doctor_module._dependency(Requirement("click>=1")).level == "ok"


def test_settings_of_another_mode_are_not_checked():
    from typing import Literal

    class ModeSettings(PluginSettings):
        mode: Literal["polling", "webhook"] = "polling"
        webhook_secret: SecretRef = "$env:NOT_NEEDED_WHILE_POLLING"
        webhook_port: int = 8443
        token: SecretRef = "$env:NEEDED"

    polling = ModeSettings()
    assert not doctor_module._applies("webhook_secret", polling)
    assert not doctor_module._applies("webhook_port", polling)
    assert doctor_module._applies("token", polling)
    assert doctor_module._applies("webhook_port", ModeSettings(mode="webhook"))
