"""Feedback: 👍/👎 buttons and :+1:/:-1: reactions on bot replies, stored with the model version."""

from __future__ import annotations

import asyncio

import pytest
from interplay.core import Reply
from interplay.plugins.slack.testing import (
    SlackRig,
    button_click,
    direct_message,
    mention,
    reaction,
    wait_for,
)


async def answered(rig: SlackRig, ts: str = "1700000001.000100") -> tuple[Reply, str]:
    """Ask once in C1 and return the stored reply and its Slack ts."""
    await rig.sender.post_event(mention("C1", "rate me", ts=ts))
    await wait_for(lambda: rig.channel.delivered_count >= 1)
    posted = rig.fake.thread("C1", ts)[-1]
    stored = await rig.store.reply_by_external_id("slack", f"C1:{posted.ts}")
    assert stored is not None
    return stored, posted.ts


async def test_button_feedback_is_stored_with_the_model_version(rig: SlackRig) -> None:
    reply, _ = await answered(rig)
    status, _ = await rig.sender.post_interaction(button_click(reply.id, good=True, user="U5", channel="C1"))
    assert status == 200
    [feedback] = await rig.store.feedback_for([reply.id])
    assert (feedback.score, feedback.user_id, feedback.kind) == (1.0, "T1:U5", "explicit")
    assert feedback.model_version == "echo-1" and feedback.channel == "slack"
    assert feedback.conversation_id == reply.conversation_id
    await wait_for(lambda: rig.fake.ephemeral)
    assert rig.fake.ephemeral[0]["user"] == "U5"  # only the person who clicked sees the thanks


async def test_the_same_click_twice_counts_once_and_a_change_of_mind_replaces_it(rig: SlackRig) -> None:
    reply, _ = await answered(rig)
    for good in (True, True, False):
        assert (await rig.sender.post_interaction(button_click(reply.id, good=good)))[0] == 200
    assert [f.score for f in await rig.store.feedback_for([reply.id])] == [-1.0]
    assert not any("feedback:" in key for _, key in rig.store.keys)  # no user ids kept as dedupe keys


async def test_a_button_naming_another_channels_reply_is_ignored(rig: SlackRig) -> None:
    reply, _ = await answered(rig)
    click = button_click(reply.id, good=True, user="U9", channel="C2")  # value copied into another channel
    assert (await rig.sender.post_interaction(click))[0] == 200
    assert await rig.store.feedback_for([reply.id]) == []


async def test_buttons_need_a_valid_signature(rig: SlackRig) -> None:
    reply, _ = await answered(rig)
    status, _ = await rig.sender.post_interaction(button_click(reply.id, good=False), secret="forged")
    assert status == 401
    assert await rig.store.feedback_for([reply.id]) == []


async def test_button_for_an_unknown_reply_is_ignored(rig: SlackRig) -> None:
    assert (await rig.sender.post_interaction(button_click("no-such-reply", good=True)))[0] == 200
    assert (await rig.sender.post_interaction({"type": "view_submission", "user": {"id": "U1"}}))[0] == 200
    assert await rig.store.feedback_for() == []


@pytest.mark.parametrize(
    ("name", "score"),
    [("+1", 1.0), ("thumbsup", 1.0), ("+1::skin-tone-4", 1.0), ("-1", -1.0), ("thumbsdown", -1.0)],
)
async def test_reaction_on_a_bot_reply_is_stored(rig: SlackRig, name: str, score: float) -> None:
    reply, ts = await answered(rig)
    status, _ = await rig.sender.post_event(reaction("C1", ts, name, user="U6"))
    assert status == 200
    [feedback] = await rig.store.feedback_for([reply.id])
    assert (feedback.score, feedback.user_id, feedback.model_version) == (score, "T1:U6", "echo-1")


async def test_retried_reaction_counts_once(rig: SlackRig) -> None:
    reply, ts = await answered(rig)
    payload = reaction("C1", ts, "+1", event_id="Ev0REACT")
    for retry in (None, 1, 2):
        assert (await rig.sender.post_event(payload, retry_num=retry))[0] == 200
    assert len(await rig.store.feedback_for([reply.id])) == 1


async def test_reactions_elsewhere_are_ignored(rig: SlackRig) -> None:
    _, ts = await answered(rig)
    await rig.sender.post_event(reaction("C1", ts, "tada"))  # not a judgement
    await rig.sender.post_event(reaction("C1", ts, "+1", item_user="U9"))  # someone else's message
    await rig.sender.post_event(reaction("C1", "1600000000.000001", "+1"))  # not a stored reply
    await rig.sender.post_event(reaction("C2", ts, "+1"))  # same ts, other channel
    assert await rig.store.feedback_for() == []


async def test_good_and_bad_commands_still_work(rig: SlackRig) -> None:
    await rig.sender.post_event(direct_message("D1", "something"))
    await wait_for(lambda: rig.channel.delivered_count == 1)
    await rig.sender.post_event(direct_message("D1", "/bad"))
    await wait_for(lambda: len(rig.fake.thread("D1", None)) == 2)
    await asyncio.sleep(0.05)
    [feedback] = await rig.store.feedback_for()
    assert feedback.score == -1.0 and feedback.channel == "slack"
