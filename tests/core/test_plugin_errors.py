"""A plugin that is wrong says what is wrong, naming the plugin (issue #21, "fail loudly")."""

from __future__ import annotations

import logging
import subprocess
import sys
import types

import pytest
from interplay.core import Analyzer, Annotation, Message, PluginSettings, hookimpl
from interplay.core.config import InterplayConfig
from interplay.core.errors import PluginError
from interplay.core.plugins import PluginRegistry
from interplay.testing import run_bot

INTERPLAY = [sys.executable, "-m", "interplay.core"]


class TagSettings(PluginSettings):
    pass


def _analyzer(name: str, result: object) -> type[Analyzer]:
    async def analyze(self: Analyzer, message: Message) -> object:
        return result

    return type(f"{name}Analyzer", (Analyzer,), {"name": name, "Settings": TagSettings, "analyze": analyze})


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attrs)
    return module


def _registry(name: str, module: object) -> PluginRegistry:
    registry = PluginRegistry()
    registry.add(name, module)
    registry.collect(InterplayConfig())
    return registry


def test_a_module_without_hookimpl_is_reported_as_such():
    def register_analyzers(register):
        register(_analyzer("tagger", None))

    registry = _registry("tagger", _module("tagger", register_analyzers=register_analyzers))
    with pytest.raises(
        PluginError,
        match=r"analyzer plugin 'tagger' is unavailable: register_analyzers\(\) "
        r"has no @hookimpl",
    ):
        registry.component("analyzer", "tagger")


def test_an_async_hook_is_reported_as_such():
    @hookimpl
    async def register_analyzers(register):
        register(_analyzer("tagger", None))

    registry = _registry("tagger", _module("tagger", register_analyzers=register_analyzers))
    with pytest.raises(
        PluginError, match=r"register_analyzers\(\) is `async def`: hooks are plain functions"
    ):
        registry.component("analyzer", "tagger")


def test_a_misspelled_hook_gets_did_you_mean():
    @hookimpl
    def register_analysers(register):
        pass

    registry = _registry("tagger", _module("tagger", register_analysers=register_analysers))
    assert "no Interplay hook (did you mean 'register_analyzers'?)" in str(registry.infos["tagger"].error)


def test_a_module_that_registers_nothing_says_so():
    registry = _registry("tagger", _module("tagger"))
    assert "registers nothing" in str(registry.infos["tagger"].error)


def test_unknown_plugin_names_get_did_you_mean_and_the_kind_is_checked():
    registry = _registry("noop", _module("noop"))
    registry.load_entry_points()
    registry.collect(InterplayConfig())
    with pytest.raises(
        PluginError, match=r"no generator plugin named 'ecko' is installed \(did you mean 'echo'\?\)"
    ):
        registry.component("generator", "ecko")
    with pytest.raises(PluginError, match=r"'echo' is a generator plugin, not an analyzer"):
        registry.component("analyzer", "echo")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"label": "yes"}, r"analyzer plugin 'tagger' returned dict, not an Annotation"),
        (Annotation("intent", "yes"), r"analyzer plugin 'tagger' returned an Annotation named 'intent'"),
    ],
)
async def test_an_analyzer_breaking_its_contract_is_an_error_naming_it(result, expected, caplog):
    plugin = types.SimpleNamespace(
        register_analyzers=hookimpl(lambda register: register(_analyzer("tagger", result)))
    )
    with caplog.at_level(logging.ERROR):
        async with run_bot(plugin, analyzers=["tagger"], installed=False) as bot:
            reply = await bot.say("hello")
            assert "tagger" not in reply.annotations and "intent" not in reply.annotations
            assert bot.bot.errors["tagger"] == 1
    assert any(__import__("re").search(expected, r.getMessage()) for r in caplog.records)


def test_check_config_warns_on_a_typo_in_an_installed_plugin_that_is_not_enabled(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[pipeline]\ngenerator = "echo"\n[plugins.shouting]\nmin_leters = 3\n')
    done = subprocess.run(
        [*INTERPLAY, "check-config", "--config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "warning: " in done.stderr and "unknown key 'plugins.shouting.min_leters'" in done.stderr
    assert "(did you mean 'min_letters'?) (analyzer 'shouting' is not enabled)" in done.stderr


def test_check_config_reports_every_problem_with_did_you_mean(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[pipeline]\nanalyzers = ["shoutin"]\ngenerator = "echo"\n[plugins.ecoh]\nprefix = "x"\n'
    )
    done = subprocess.run(
        [*INTERPLAY, "check-config", "--config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert (
        f"error: {config}: [plugins.ecoh] names no installed plugin (did you mean [plugins.echo]?)" in lines
    )
    assert any(
        "no analyzer plugin named 'shoutin' is installed (did you mean 'shouting'?)" in x for x in lines
    )
