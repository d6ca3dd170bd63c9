"""Non-secret settings can be overridden from the environment, validated like the file (README)."""

from __future__ import annotations

import pytest
from interplay.core.config import load_config
from interplay.core.errors import ConfigError, PluginError
from interplay.core.plugins import load_registry


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[bus]\nmax_pending = 10\n[pipeline]\ngenerator = "echo"\n')
    return path


def test_a_variable_overrides_the_file_and_is_typed(config_file, monkeypatch):
    monkeypatch.setenv("INTERPLAY_BUS__MAX_PENDING", "500")
    monkeypatch.setenv("INTERPLAY_PIPELINE__ANALYZERS", '["intent", "sentiment"]')
    monkeypatch.setenv("INTERPLAY_INTERPLAY__LOG_LEVEL", "DEBUG")  # a bare word is a string
    monkeypatch.setenv("INTERPLAY_OBSERVABILITY__ENABLED", "true")
    config = load_config(config_file)
    assert config.bus.max_pending == 500
    assert config.pipeline.analyzers == ["intent", "sentiment"]
    assert config.interplay.log_level == "DEBUG"
    assert config.observability.enabled is True
    assert config.env_sources["bus.max_pending"] == "INTERPLAY_BUS__MAX_PENDING"


def test_cli_options_still_win_over_the_environment(config_file, monkeypatch):
    monkeypatch.setenv("INTERPLAY_INTERPLAY__LOG_LEVEL", "DEBUG")
    assert load_config(config_file, {"interplay.log_level": "ERROR"}).interplay.log_level == "ERROR"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("INTERPLAY_BUS__MAX_PENDING", "0", r"variable INTERPLAY_BUS__MAX_PENDING: 'bus.max_pending'"),
        (
            "INTERPLAY_BUS__MAX_PENDNG",
            "5",
            r"INTERPLAY_BUS__MAX_PENDNG: unknown key 'bus.max_pendng' \(did you mean 'max_pending'\?\)",
        ),
        ("INTERPLAY_BSU__MAX_PENDING", "5", r"_BSU__MAX_PENDING: unknown key 'bsu' \(did you mean 'bus'\?\)"),
        ("INTERPLAY_REDIS__URL", "redis://u:pw@h", r"_REDIS__URL: 'redis.url': .*never written inline"),
        ("INTERPLAY_BUS__", "5", r"expected INTERPLAY_<TABLE>__<KEY>"),
    ],
)
def test_a_bad_variable_is_an_error_that_names_it(config_file, monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected):
        load_config(config_file)


def test_a_plugin_table_key_from_the_environment_is_validated_by_the_plugin(config_file, monkeypatch):
    monkeypatch.setenv("INTERPLAY_PLUGINS__ECHO__PREFIXX", "> ")
    config = load_config(config_file)
    registry = load_registry(config)
    expected = r"environment variable INTERPLAY_PLUGINS__ECHO__PREFIXX: unknown key 'plugins\.echo\.prefixx'"
    with pytest.raises(PluginError, match=expected + r" \(did you mean 'prefix'\?\)"):
        registry.settings_for(registry.component("generator", "echo"), config)


def test_a_secret_is_still_only_a_reference(config_file, monkeypatch):
    monkeypatch.setenv("INTERPLAY_REDIS__URL", "$env:MY_REDIS_URL")
    assert load_config(config_file).redis.url == "$env:MY_REDIS_URL"
