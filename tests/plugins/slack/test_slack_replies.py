"""Replies: in the right thread, streamed by chat.update, once per event, Retry-After honoured."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from interplay.plugins.slack.sender import GOOD_ACTION
from interplay.plugins.slack.testing import (
    TEST_SECRET,
    TEST_TOKEN,
    SlackRig,
    direct_message,
    mention,
    run_slack_bot,
    wait_for,
)
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI


def posts(rig: SlackRig) -> int:
    return len([c for c in rig.fake.calls_to("chat.postMessage") if c.status == 200])


async def test_mention_is_answered_in_its_thread(rig: SlackRig) -> None:
    status, _ = await rig.sender.post_event(mention("C1", "hello there", ts="1700000000.000100"))
    assert status == 200
    await wait_for(lambda: rig.channel.delivered_count == 1)
    [reply] = rig.fake.thread("C1", "1700000000.000100")
    assert reply.text == "hello there"  # the bot's own @-mention is not part of the question
    stored = await rig.store.reply_by_external_id("slack", f"C1:{reply.ts}")
    assert stored is not None and stored.model_version == "echo-1"
    assert stored.conversation_id == "C1:1700000000.000100"
    buttons = reply.blocks[-1]["elements"]  # type: ignore[index]
    assert [b["value"] for b in buttons] == [stored.id, stored.id]
    assert buttons[0]["action_id"] == GOOD_ACTION


async def test_mention_inside_a_thread_answers_in_that_thread(rig: SlackRig) -> None:
    await rig.sender.post_event(mention("C1", "first", ts="1700000000.000200"))
    second = mention("C1", "second", ts="1700000000.000300", thread_ts="1700000000.000200")
    await rig.sender.post_event(second)
    await wait_for(lambda: rig.channel.delivered_count == 2)
    thread = rig.fake.thread("C1", "1700000000.000200")
    assert [m.text for m in thread] == ["first", "second"]
    assert rig.fake.thread("C1", "1700000000.000300") == []
    history = await rig.store.history("C1:1700000000.000200", 10)
    assert [t.text for t in history] == ["first", "first", "second", "second"]


async def test_direct_messages_are_answered_at_the_top_level(rig: SlackRig) -> None:
    await rig.sender.post_event(direct_message("D1", "hi in a DM"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    [reply] = rig.fake.thread("D1", None)
    assert reply.text == "hi in a DM"


async def test_app_mention_in_a_dm_is_left_to_message_im(rig: SlackRig) -> None:
    ts = "1700000000.000400"
    await rig.sender.post_event(mention("D1", "both events", ts=ts))
    await rig.sender.post_event(direct_message("D1", "<@UBOT> both events", ts=ts))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    await asyncio.sleep(0.2)
    assert posts(rig) == 1 and rig.fake.thread("D1", None)[0].text == "both events"


async def test_generated_text_is_escaped(rig: SlackRig) -> None:
    await rig.sender.post_event(direct_message("D1", "&lt;!channel&gt; a &amp; b"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    [reply] = rig.fake.thread("D1", None)
    assert reply.text == "&lt;!channel&gt; a &amp; b"  # shown literally, pings nobody
    [stored] = (await rig.store.history("D1", 2))[:1]
    assert stored.text == "<!channel> a & b"  # what the person typed, unescaped


async def test_chat_commands_work_after_the_mention(rig: SlackRig) -> None:
    await rig.sender.post_event(mention("C1", "/help", ts="1700000000.000500"))
    await wait_for(lambda: posts(rig) == 1)
    [reply] = rig.fake.thread("C1", "1700000000.000500")
    assert "/reset" in reply.text
    assert reply.blocks is None  # command output is not stored, so it gets no rating buttons


async def test_a_limited_reply_gets_no_rating_buttons(slack_env: None, fake_slack: FakeSlackAPI) -> None:
    async with run_slack_bot(fake_slack, limits={"max_message_chars": 10}) as rig:
        await rig.sender.post_event(direct_message("D1", "far longer than ten characters"))
        await wait_for(lambda: posts(rig) == 1)
    [reply] = fake_slack.thread("D1", None)
    assert reply.text != "far longer than ten characters"  # the too-long reply, never stored
    assert reply.blocks is None  # nothing stored to rate (Slack put buttons here before #22)


async def test_reply_streams_by_throttled_updates(slack_env: None, fake_slack: FakeSlackAPI) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    async with run_slack_bot(fake_slack, echo_settings={"delay": 0.02}, stream_interval=0.15) as rig:
        await rig.sender.post_event(direct_message("D1", words))
        await wait_for(lambda: rig.channel.delivered_count == 1)
    [reply] = fake_slack.thread("D1", None)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    updates = fake_slack.calls_to("chat.update")
    # >= 0.6 s of generation at one edit per 0.15 s: a few interim edits, then the final one
    span = updates[-1].time - fake_slack.calls_to("chat.postMessage")[0].time
    assert 2 <= len(updates) <= span / 0.15 + 1, (len(updates), span)
    gaps = [b.time - a.time for a, b in itertools.pairwise(updates[:-1])]  # the final edit is not throttled
    assert all(g >= 0.14 for g in gaps), gaps
    assert reply.versions[0] != words and reply.versions[-1] == words
    assert all(words.startswith(v) for v in reply.versions)  # every edit is a prefix of the answer
    assert reply.blocks is not None


async def test_fast_reply_takes_one_call(rig: SlackRig) -> None:
    await rig.sender.post_event(direct_message("D1", "quick one"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    assert posts(rig) == 1 and rig.fake.calls_to("chat.update") == []


async def test_retry_after_is_honoured_on_429(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await rig.sender.post_event(direct_message("D1", "rate limited"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    attempts = rig.fake.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 1.0
    assert time.monotonic() - started < 5
    assert len(rig.fake.thread("D1", None)) == 1  # the retry did not post twice


async def test_retry_after_beyond_the_cap_gives_up(slack_env: None, fake_slack: FakeSlackAPI) -> None:
    async with run_slack_bot(fake_slack, max_retry_wait=2) as rig:
        fake_slack.fail("chat.postMessage", status=429, retry_after=60)
        await rig.sender.post_event(direct_message("D1", "too long a wait"))
        await wait_for(lambda: fake_slack.calls_to("chat.postMessage"))
        await asyncio.sleep(0.3)
        assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429]
        assert rig.bot.bot.errors["slack"] == 1  # reported as the channel's failure, the bot runs on
        await rig.sender.post_event(direct_message("D1", "next"))
        await wait_for(lambda: rig.channel.delivered_count == 1)


async def test_slacks_retry_pattern_gives_exactly_one_reply(
    slack_env: None, fake_slack: FakeSlackAPI
) -> None:
    """The same event four times: the original, then retries 1-3, one of them mid-answer."""
    async with run_slack_bot(fake_slack, echo_settings={"delay": 0.1}) as rig:
        payload = mention("C7", "one two three four five six", ts="1700000000.000900", event_id="Ev0RETRY")
        first = asyncio.create_task(rig.sender.post_event(payload))
        await wait_for(lambda: fake_slack.calls_to("chat.postMessage"))  # the answer is being streamed
        assert rig.channel.delivered_count == 0
        mid = await rig.sender.post_event(payload, retry_num=1)
        late = await asyncio.gather(*(rig.sender.post_event(payload, retry_num=n) for n in (2, 3)))
        assert [(await first)[0], mid[0], *(s for s, _ in late)] == [200, 200, 200, 200]
        await wait_for(lambda: rig.channel.delivered_count == 1)
        await asyncio.sleep(0.3)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    [reply] = fake_slack.thread("C7", "1700000000.000900")
    assert reply.text == "one two three four five six"
    assert len(fake_slack.messages) == 1


async def test_simultaneous_deliveries_share_one_store(rig: SlackRig) -> None:
    payload = mention("C8", "at once", event_id="Ev0SAME")
    results = await asyncio.gather(*(rig.sender.post_event(payload, retry_num=n or None) for n in range(4)))
    assert [s for s, _ in results] == [200] * 4
    await wait_for(lambda: rig.channel.delivered_count == 1)
    await asyncio.sleep(0.2)
    assert posts(rig) == 1


async def test_slow_store_gets_503_then_the_retry_is_a_no_op(
    slack_env: None, fake_slack: FakeSlackAPI
) -> None:
    async with run_slack_bot(fake_slack, ack_timeout=0.2) as rig:
        gate = asyncio.Event()
        record = rig.store.record_inbound

        async def slow_record(message):  # type: ignore[no-untyped-def]
            await gate.wait()
            return await record(message)

        rig.store.record_inbound = slow_record  # type: ignore[method-assign]
        payload = mention("C9", "slow", event_id="Ev0SLOW")
        assert (await rig.sender.post_event(payload))[0] == 503  # not stored yet: Slack must retry
        gate.set()
        await wait_for(lambda: rig.channel.delivered_count == 1)
        assert (await rig.sender.post_event(payload, retry_num=1))[0] == 200
        await asyncio.sleep(0.2)
        assert posts(rig) == 1


async def test_shutdown_answers_503_so_slack_retries_later(rig: SlackRig) -> None:
    assert rig.bot.bot.bus is not None
    await rig.bot.bot.bus.drain()  # what Bot.stop() does before stopping channels
    status, _ = await rig.sender.post_event(mention("C1", "during shutdown"))
    assert status == 503
    assert posts(rig) == 0


async def test_a_refused_post_fails_that_reply_only(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", status=200, error="channel_not_found")
    await rig.sender.post_event(direct_message("D1", "lost"))
    await wait_for(lambda: rig.bot.bot.errors["slack"] == 1)
    assert rig.channel.delivered_count == 0
    await rig.sender.post_event(direct_message("D1", "next"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    assert [m.text for m in rig.fake.thread("D1", None)] == ["next"]


async def test_a_failed_interim_update_does_not_lose_the_final_text(
    slack_env: None, fake_slack: FakeSlackAPI
) -> None:
    words = " ".join(f"w{i}" for i in range(15))
    async with run_slack_bot(fake_slack, echo_settings={"delay": 0.02}, stream_interval=0.1) as rig:
        fake_slack.fail("chat.update", status=500, retry_after=None)
        await rig.sender.post_event(direct_message("D1", words))
        await wait_for(lambda: rig.channel.delivered_count == 1)
    assert fake_slack.calls_to("chat.update")[0].status == 500
    assert fake_slack.thread("D1", None)[0].text == words


async def test_no_secret_reaches_the_log_even_at_debug(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # slack_sdk logs every request at DEBUG
    await rig.sender.post_event(direct_message("D1", "log me"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    await rig.sender.post_event(direct_message("D1", "forged"), secret="wrong")
    assert "chat.postMessage" in caplog.text  # the requests were logged...
    assert TEST_TOKEN not in caplog.text and TEST_SECRET not in caplog.text  # ...without the secrets
