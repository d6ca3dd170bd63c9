"""Start-up: the token comes from the environment, is checked, and never shows in logs or errors."""

from __future__ import annotations

import logging

import pytest
from interplay.core import PluginError
from interplay.core.config import InterplayConfig
from interplay.core.plugins import load_registry
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from interplay.testing import run_bot

from .conftest import TOKEN, telegram_bot


async def _failed_start(fake: FakeTelegram, **settings: object) -> str:
    with pytest.raises(PluginError) as caught:
        async with run_bot(config={"pipeline": {"channels": ["telegram"]}},
                           settings={"telegram": fake.channel_settings(**settings)}):
            pass
    return str(caught.value)


async def test_missing_token_says_what_to_set(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert "set TELEGRAM_BOT_TOKEN" in await _failed_start(fake)


async def test_refused_token_is_reported_without_the_token(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:WRONG-secret-value")
    why = await _failed_start(fake)
    assert "Telegram refused the bot token" in why
    assert "WRONG-secret-value" not in why + caplog.text


async def test_unreachable_api_is_reported_without_the_token(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    why = await _failed_start(fake, api_url="http://127.0.0.1:9/bot", request_timeout=0.5)
    assert "cannot reach Telegram" in why
    assert TOKEN not in why + caplog.text


async def test_token_never_reaches_the_logs(fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("sendMessage", 500, description=f"error echoing the URL /bot{TOKEN}/sendMessage")
    fake.fail("getUpdates", 502)
    fake.block(82)
    async with telegram_bot(fake):
        fake.say(81, "hello")
        fake.say(82, "blocked")
        await fake.wait_for(lambda: fake.texts(81) == ["hello"] and fake.count("sendMessage", 82) == 1)
    assert "HTTP Request: POST" in caplog.text  # httpx did log the URLs...
    assert TOKEN not in caplog.text  # ...with the token masked
    assert "<token>" in caplog.text


def test_settings_reject_unknown_keys_and_need_a_webhook_url() -> None:
    config = InterplayConfig.model_validate({"plugins": {"telegram": {"tokn": "$env:X"}}})
    registry = load_registry(config)
    cls = registry.component("channel", "telegram")
    with pytest.raises(PluginError, match=r"unknown key 'plugins\.telegram\.tokn'.*did you mean 'token'"):
        registry.settings_for(cls, config)
    webhook = InterplayConfig.model_validate({"plugins": {"telegram": {"mode": "webhook"}}})
    with pytest.raises(PluginError, match="needs webhook_url"):
        registry.settings_for(cls, webhook)
    inline = InterplayConfig.model_validate({"plugins": {"telegram": {"token": "123:abc"}}})
    with pytest.raises(PluginError, match="never written inline"):
        registry.settings_for(cls, inline)


async def test_webhook_mode_needs_its_secret(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    why = await _failed_start(fake, mode="webhook", webhook_url="https://bot.example.com/telegram")
    assert "set TELEGRAM_WEBHOOK_SECRET" in why
    assert fake.count("setWebhook") == 0 and fake.count("getMe") == 0


def test_docs_table_lists_every_setting() -> None:
    import re
    from pathlib import Path

    from interplay.plugins.telegram.settings import TelegramSettings

    docs = (Path(__file__).parents[3] / "docs" / "telegram.md").read_text()
    documented = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", docs, re.M))
    assert set(documented) == set(TelegramSettings.model_fields)
    for name, field in TelegramSettings.model_fields.items():
        if isinstance(field.default, (int, float)) and not isinstance(field.default, bool):
            assert float(documented[name].strip(" `")) == field.default, name
