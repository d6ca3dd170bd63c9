"""A running bot whose only channel is the web chat, on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from interplay.testing import run_bot

NO_BROWSER = "no Chromium: the web chat browser test did not run (apt-get install chromium; .ci/run does it)"
_skipped_for_missing_browser: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and NO_BROWSER in str(report.longrepr):
        _skipped_for_missing_browser.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say it loudly: a skipped browser test is a test that did not run."""
    if _skipped_for_missing_browser:
        terminalreporter.section("BROWSER TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"{len(_skipped_for_missing_browser)} test(s): {NO_BROWSER}", red=True)


SECRET = "test-secret-0123456789abcdef"
API_TOKEN = "api-token-for-tests"


@pytest.fixture
def webchat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBCHAT_SECRET", SECRET)
    monkeypatch.setenv("WEBCHAT_API_TOKEN", API_TOKEN)


@asynccontextmanager
async def webchat_bot(delay: float = 0.01, **webchat: Any) -> AsyncIterator[tuple[Any, Any]]:
    """(test bot, the started WebchatChannel); the echo generator waits `delay` between words."""
    settings = {
        "webchat": {"port": 0, "api_token": "$env:WEBCHAT_API_TOKEN", **webchat},
        "echo": {"delay": delay},
    }
    async with run_bot(settings=settings, config={"pipeline": {"channels": ["webchat"]}}) as bot:
        yield bot, bot.bot.channels["webchat"]
