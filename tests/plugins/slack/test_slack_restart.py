"""Dedupe survives a restart: Slack's retry reaching a new process is not answered again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from interplay.core import Message
from interplay.core.store import SQLiteStore
from interplay.plugins.slack.testing import button_click, mention, run_slack_bot, wait_for
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI


async def test_retry_after_restart_is_not_answered_twice(
    slack_env: None, fake_slack: FakeSlackAPI, tmp_path: Path
) -> None:
    path = tmp_path / "interplay.sqlite3"
    payload = mention("C1", "before the restart", ts="1700000002.000100", event_id="Ev0RESTART")
    async with run_slack_bot(fake_slack, store=SQLiteStore(path)) as rig:
        assert (await rig.sender.post_event(payload))[0] == 200
        await wait_for(lambda: rig.channel.delivered_count == 1)
    posted = fake_slack.thread("C1", "1700000002.000100")
    assert len(posted) == 1

    async with run_slack_bot(fake_slack, store=SQLiteStore(path)) as rig:
        assert (await rig.sender.post_event(payload, retry_num=1))[0] == 200
        await asyncio.sleep(0.3)
        assert rig.channel.delivered_count == 0
        # a new event is still answered, and feedback finds the reply stored by the first process
        assert (await rig.sender.post_event(mention("C1", "after", ts="1700000002.000200")))[0] == 200
        await wait_for(lambda: rig.channel.delivered_count == 1)
        stored = await rig.store.reply_by_external_id("slack", f"C1:{posted[0].ts}")
        assert stored is not None
        assert (await rig.sender.post_interaction(button_click(stored.id, good=True)))[0] == 200
        [feedback] = await rig.store.feedback_for([stored.id])
        assert feedback.model_version == "echo-1"
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_event_stored_before_a_crash_is_answered_in_its_thread_after_restart(
    slack_env: None, fake_slack: FakeSlackAPI, tmp_path: Path
) -> None:
    """What the 200 promises: an acknowledged event is stored, so it is answered even if the process died."""
    path = tmp_path / "interplay.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    message = Message(
        channel="slack",
        conversation_id="C3:1700000003.000100",
        user_id="U1",
        text="asked before the crash",
        external_id="Ev0CRASH",
        meta={"channel": "C3", "thread_ts": "1700000003.000100", "ts": "1700000003.000100"},
    )
    assert await store.record_inbound(message)  # what the channel awaited before answering 200
    await store.close()  # ... and then the process died

    async with run_slack_bot(fake_slack, store=SQLiteStore(path)) as rig:
        await wait_for(lambda: rig.channel.delivered_count == 1)
        payload = mention("C3", "asked before the crash", ts="1700000003.000100", event_id="Ev0CRASH")
        assert (await rig.sender.post_event(payload, retry_num=1))[0] == 200  # Slack's retry: a no-op
        await asyncio.sleep(0.2)
    [reply] = fake_slack.thread("C3", "1700000003.000100")
    assert reply.text == "asked before the crash"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
