"""Secrets injected through `$env:` references never appear in logs, tracebacks or error messages."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from click.testing import CliRunner
from interplay.core import (
    Conversation,
    Generator,
    PluginError,
    PluginSettings,
    SecretRef,
    Skill,
    hookimpl,
    resolve_secret,
)
from interplay.core.cli import cli
from interplay.core.logs import setup_logging
from interplay.core.redaction import redact
from interplay.testing import run_bot

TELEGRAM_TOKEN = "7123456789:AAHfakeTokenForTests_abcdefghijklmnop"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
OTHER_SECRET = "hunter2-but-longer-Zq"


class LeakySettings(PluginSettings):
    token: SecretRef = "$env:TEST_BOT_TOKEN"
    signing_secret: SecretRef = "$env:TEST_SIGNING_SECRET"


class LeakyGenerator(Generator):
    """A careless plugin: logs its token and raises errors that quote its secrets."""

    name = "leaky"
    Settings = LeakySettings

    async def start(self) -> None:
        self.token = resolve_secret(self.settings.token, "the test bot token")  # type: ignore[attr-defined]
        logging.getLogger("interplay.plugins.leaky").debug("connecting with token=%s", self.token)

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:  # type: ignore[override]
        yield "partial"
        raise RuntimeError(f"POST https://api.example.org/bot{self.token}/sendMessage refused")


class SelfServiceSkill(Skill):
    """Reads its secret straight from the environment, never through resolve_secret."""

    name = "selfservice"
    Settings = LeakySettings

    async def start(self) -> None:
        import os

        raise PluginError(f"signature check failed with {os.environ['TEST_SIGNING_SECRET']}")


plugin = SimpleNamespace(
    register_generators=hookimpl(lambda register: register(LeakyGenerator)),
    register_skills=hookimpl(lambda register: register(SelfServiceSkill)),
)


@pytest.fixture
def secrets_in_env(monkeypatch):
    monkeypatch.setenv("TEST_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TEST_SIGNING_SECRET", SIGNING_SECRET)


def _assert_clean(text: str) -> None:
    for secret in (TELEGRAM_TOKEN, SIGNING_SECRET, TELEGRAM_TOKEN.split(":")[1]):
        assert secret not in text


@pytest.mark.parametrize("as_json", [False, True])
async def test_no_secret_in_debug_logs_tracebacks_or_health_output(secrets_in_env, capsys, as_json):
    log = io.StringIO()
    setup_logging("DEBUG", as_json=as_json, stream=log)
    settings = {"selfservice": {"signing_secret": "$env:TEST_SIGNING_SECRET"}}
    config = {"observability": {"enabled": True, "port": 0}, "interplay": {"admins": ["boss"]}}
    try:
        with pytest.raises(PluginError) as failed:  # an enabled plugin that cannot start stops the bot
            async with run_bot(plugin, generator="leaky", skills=["selfservice"], settings=settings,
                               installed=False):
                pass
        assert SIGNING_SECRET not in redact(str(failed.value))  # what the CLI prints after `error:`
        async with run_bot(
            plugin,
            generator="leaky",
            settings=settings,
            config=config,
            installed=False,
        ) as bot:
            reply = await bot.say("hello")
            status = await bot.say("/status", user="boss")
            port = bot.bot.server.port
            async with aiohttp.ClientSession() as http:
                readyz = await (await http.get(f"http://127.0.0.1:{port}/readyz")).text()
            logging.getLogger("interplay.test").error("bot status: %s", bot.bot.status)
    finally:
        setup_logging("WARNING")
    captured = log.getvalue()
    assert "connecting with token=***" in captured  # the line is kept, the value masked
    assert "RuntimeError" in captured and "/bot***/sendMessage" in captured  # the traceback too
    assert "signature check failed with ***" in captured
    assert "fallback" in reply.source or "Sorry" in reply.text
    out = capsys.readouterr()
    for text in (captured, out.out, out.err, status.text, readyz, reply.text):
        _assert_clean(text)


def test_token_shaped_strings_are_masked_even_when_never_registered():
    token = "5550001234:AAE_unseen-token-abcdefghijklmnopq"
    line = f"GET https://api.telegram.org/bot{token}/getMe xoxb-1234-5678-abcdEFGH"
    assert redact(line) == "GET https://api.telegram.org/bot***/getMe ***"


def test_cli_errors_and_doctor_never_print_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("OTHER_SECRET", OTHER_SECRET)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[interplay]\nmodels_dir = "{tmp_path}"\ndata_dir = "{tmp_path}"\n'
        '[pipeline]\nchannels = ["slack"]\n'
        '[plugins.slack]\nbot_token = "$env:TEST_BOT_TOKEN"\nsigning_secret = "$env:OTHER_SECRET"\nport = 0\n'
    )
    runner = CliRunner()
    for args in (["check-config"], ["doctor"], ["plugins"]):
        result = runner.invoke(cli, ["--config", str(config), *args])
        _assert_clean(result.output)
        assert OTHER_SECRET not in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[pipeline]\nchannels = ["slack"]\n[plugins.slack]\nbot_token = "{TELEGRAM_TOKEN}"\n')
    result = runner.invoke(cli, ["--config", str(bad), "check-config"])
    assert result.exit_code == 1
    assert "secrets are never written inline" in result.output
    _assert_clean(result.output)
