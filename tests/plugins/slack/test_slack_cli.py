"""`interplay slack send` signs like Slack and reaches a running bot; a wrong secret is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.core.cli import cli
from interplay.plugins.slack.testing import SlackRig, wait_for


@pytest.fixture(autouse=True)
def own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config of our own, so the repository's config.toml does not matter."""
    (tmp_path / "config.toml").write_text("[plugins.slack]\nport = 1\n")  # --url overrides the port
    monkeypatch.setenv("INTERPLAY_CONFIG", str(tmp_path / "config.toml"))


async def invoke(rig: SlackRig, *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["slack", "send", "--url", rig.channel.url, *args], catch_exceptions=False
    )
    return result.exit_code, result.output


async def test_send_reaches_the_bot(rig: SlackRig) -> None:
    code, output = await invoke(rig, "hello from the command line")
    assert code == 0 and output.startswith("200"), output
    await wait_for(lambda: rig.channel.delivered_count == 1)
    [posted] = rig.fake.messages.values()
    assert posted.channel == "C0LOCAL" and posted.text == "hello from the command line"
    code, _ = await invoke(rig, "--dm", "and in a DM")
    await wait_for(lambda: rig.channel.delivered_count == 2)
    assert [m.text for m in rig.fake.thread("D0LOCAL", None)] == ["and in a DM"]


async def test_send_with_the_wrong_secret_is_refused(rig: SlackRig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-the-one-the-bot-has")
    code, output = await invoke(rig, "forged")
    assert code == 1 and output.startswith("401")
    await asyncio.sleep(0.1)
    assert rig.fake.messages == {}
