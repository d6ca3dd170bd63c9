"""Fixtures: the Slack secrets in the environment, a fake Slack Web API, and a running bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from interplay.plugins.slack.testing import TEST_SECRET, TEST_TOKEN, SlackRig, run_slack_bot
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", TEST_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TEST_TOKEN)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI(token=TEST_TOKEN) as fake:
        yield fake


@pytest.fixture
async def rig(slack_env: None, fake_slack: FakeSlackAPI) -> AsyncIterator[SlackRig]:
    async with run_slack_bot(fake_slack) as started:
        yield started
