"""`interplay telegram check` and `interplay telegram fake-server`, as docs/telegram.md shows them."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest
from interplay.plugins.telegram.testing.fake_server import FakeTelegram
from interplay.testing import run_bot

from .conftest import TOKEN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _interplay(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interplay.core", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_check_reports_the_bot_and_its_webhook(fake: FakeTelegram, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins.telegram]\napi_url = "{fake.api_url}"\n')
    rc, out, err = await _interplay("--config", str(config), "telegram", "check")
    assert rc == 0, err
    assert "bot: @interplay_test_bot" in out and "no webhook set" in out
    fake.webhook = {"url": "https://bot.example.com/telegram"}
    rc, out, _ = await _interplay("--config", str(config), "telegram", "check")
    assert "webhook: https://bot.example.com/telegram" in out


async def test_check_without_a_token_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    rc, _, err = await _interplay("telegram", "check")
    assert rc == 1 and "TELEGRAM_BOT_TOKEN" in err


async def test_fake_server_command_chats_with_a_running_bot() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interplay.core", "telegram", "fake-server", "--port", str(port),
        "--token", TOKEN, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stderr is not None
    await asyncio.wait_for(process.stderr.readline(), 30)  # the banner: it is listening
    settings = {"telegram": {"api_url": f"http://127.0.0.1:{port}/bot", "poll_timeout": 1, "user_rate": 0}}
    async with run_bot(config={"pipeline": {"channels": ["telegram"]}}, settings=settings):
        process.stdin.write(b"hello bot\n")
        process.stdin.close()
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "bot> hello bot" in out.decode()
