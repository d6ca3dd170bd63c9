"""`pip install interplay` is the core; each plugin's dependencies are an extra it names when missing."""

from __future__ import annotations

import logging
import re
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.core.cli import cli
from interplay.core.config import InterplayConfig
from interplay.core.errors import PluginError
from interplay.core.extras import EXTRA_MODULES, MissingExtra, requires_extra
from interplay.core.plugins import load_registry
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_the_base_install_is_the_core_console_echo_and_test_harness() -> None:
    base = _names(PROJECT["dependencies"])
    heavy = {
        "transformers",
        "torch",
        "onnxruntime",
        "onnxruntime-gpu",
        "python-telegram-bot",
        "slack-sdk",
        "slack_sdk",
        "redis",
        "tokenizers",
        "numpy",
    }
    assert base & heavy == set()
    assert {"pluggy", "pydantic", "click", "prompt_toolkit"} <= base


def test_every_extra_exists_and_all_is_cpu_only() -> None:
    extras = PROJECT["optional-dependencies"]
    assert {"telegram", "slack", "redis", "openai", "onnx", "gpu", "train", "all", "dev"} <= set(extras)
    assert "onnxruntime" in _names(extras["onnx"]) and "onnxruntime-gpu" not in _names(extras["onnx"])
    assert "onnxruntime-gpu" in _names(extras["gpu"]) and "onnxruntime" not in _names(extras["gpu"])
    assert {"tokenizers", "jinja2"} <= _names(extras["onnx"]) & _names(extras["gpu"])
    assert "transformers" not in _names(extras["onnx"]) | _names(extras["gpu"])
    # neither ONNX Runtime wheel rides along with training: onnx and gpu must never meet in one env
    assert not _names(extras["train"]) & {"onnxruntime", "onnxruntime-gpu"}
    (everything,) = extras["all"]
    assert set(Requirement(everything).extras) == {"telegram", "slack", "redis", "openai", "onnx", "train"}


def test_the_makefile_installs_all_and_dev() -> None:
    assert '-e ".[all,dev]"' in (ROOT / "Makefile").read_text()


def test_nothing_in_core_or_plugins_imports_transformers() -> None:
    pattern = re.compile(r"^\s*(import transformers|from transformers\b)", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("core", "plugins")
        for path in (ROOT / top).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.fixture
def without_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if python-telegram-bot were not installed: importing `telegram` fails."""
    for name in list(sys.modules):
        if name == "telegram" or name.startswith(("telegram.", "interplay.plugins.telegram.")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "telegram", None)  # `import telegram` -> ModuleNotFoundError


def test_an_enabled_plugin_without_its_extra_says_what_to_install(without_telegram: None) -> None:
    config = InterplayConfig.model_validate({"pipeline": {"channels": ["telegram"]}})
    registry = load_registry(config)
    with pytest.raises(PluginError) as caught:
        registry.component("channel", "telegram")
    assert "pip install 'interplay[telegram]'" in str(caught.value)
    assert "channel plugin 'telegram'" in str(caught.value)


def test_a_plugin_without_its_extra_is_quiet_until_enabled(
    without_telegram: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        load_registry(InterplayConfig())
    assert not [r for r in caplog.records if "telegram" in r.getMessage()]
    listing = CliRunner().invoke(cli, ["plugins"]).output
    assert re.search(r"telegram .*not usable: .*pip install 'interplay\[telegram\]'", listing)


def test_requires_extra_names_the_extra_and_leaves_other_import_errors_alone() -> None:
    with pytest.raises(MissingExtra, match=r"pip install 'interplay\[redis\]'"):
        with requires_extra("redis", "a Redis bus"):
            raise ModuleNotFoundError("No module named 'redis'", name="redis")
    with pytest.raises(MissingExtra, match=r"interplay\[onnx\]'.*interplay\[gpu\]"):
        with requires_extra("telegram"):  # numpy belongs to the onnx extra, whoever imports it
            raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
    with pytest.raises(ModuleNotFoundError):
        with requires_extra("redis"):
            raise ModuleNotFoundError("No module named 'my_typo'", name="my_typo")
    assert all(EXTRA_MODULES.values())


def test_a_command_whose_extra_is_missing_says_what_to_install(monkeypatch, tmp_path) -> None:
    def needs_tqdm(*args, **kw):
        raise ModuleNotFoundError("No module named 'tqdm'", name="tqdm")

    monkeypatch.setattr("interplay.trainer.prepare.prepare_all", needs_tqdm)
    env = {"INTERPLAY_INTERPLAY__MODELS_DIR": str(tmp_path)}
    done = CliRunner().invoke(cli, ["--config", "/dev/null", "models", "prepare"], env=env)
    assert done.exit_code == 1
    assert "error: `interplay models` needs the Python module 'tqdm'" in done.output
    assert "pip install 'interplay[train]'" in done.output


@pytest.mark.slow
def test_a_base_install_runs_the_console_and_names_every_missing_extra(tmp_path) -> None:
    """`pip install interplay` into a fresh venv (about 15 s with a warm pip cache): run with -m slow."""
    import subprocess
    import venv

    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([bin_dir / "pip", "install", "-q", str(ROOT)], check=True, timeout=600)
    installed = subprocess.run([bin_dir / "pip", "list"], capture_output=True, text=True).stdout.lower()
    assert not any(f"\n{name} " in installed for name in ("numpy", "onnxruntime", "redis", "slack_sdk"))
    chat = subprocess.run(
        [bin_dir / "interplay", "chat", "--config", "/dev/null", "--generator", "echo", "--memory"],
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert chat.stdout == "hello\n", chat.stderr
    listing = subprocess.run(
        [bin_dir / "interplay", "--config", "/dev/null", "plugins"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    for plugin, extra in (("telegram", "telegram"), ("slack", "slack"), ("onnx", "onnx"), ("intent", "onnx")):
        assert re.search(rf"^{plugin} .*not usable: .*pip install 'interplay\[{extra}\]'", listing, re.M)
