"""Slack people are scoped by workspace; one flooding person cannot make others get 503s."""

from __future__ import annotations

import asyncio

from interplay.core.store import MemoryStore
from interplay.plugins.slack.events import Incoming, decide
from interplay.plugins.slack.feedback import read_button_click
from interplay.plugins.slack.testing import button_click, mention, reaction, run_slack_bot, wait_for
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI


def _in_team(envelope: dict, team: str) -> dict:
    envelope["team_id"] = team
    return envelope


def test_a_slack_person_is_named_by_workspace_and_user() -> None:
    incoming = decide(_in_team(mention("C1", "hi", user="U1"), "T2"), "UBOT")
    assert isinstance(incoming, Incoming) and incoming.person == "T2:U1"
    assert decide(_in_team(reaction("C1", "1.1", "+1"), "T3"), "UBOT").person == "T3:U1"
    click = read_button_click(button_click("r1", good=True, user="U7"))
    assert click is not None and click.person == "T1:U7" and click.user == "U7"


async def test_the_same_user_id_in_two_workspaces_is_two_people(
    slack_env: None, fake_slack: FakeSlackAPI
) -> None:
    store = MemoryStore()
    async with run_slack_bot(fake_slack, store=store) as rig:
        await rig.sender.post_event(_in_team(mention("C1", "from the first workspace", user="U1"), "T1"))
        await rig.sender.post_event(_in_team(mention("C2", "from the second workspace", user="U1"), "T2"))
        await wait_for(lambda: rig.channel.delivered_count >= 2)
        await rig.sender.post_event(_in_team(mention("C2", "/forget", user="U1"), "T2"))
        await wait_for(lambda: rig.channel.delivered_count >= 3)
        texts = [m.text for m, _ in await store.exchanges()]
    assert "from the first workspace" in texts  # T1's U1 keeps their messages
    assert "from the second workspace" not in texts
    users = {m.user_id for m, _ in await store.exchanges()}
    assert users == {"T1:U1"}


async def test_one_flooding_person_gets_limited_while_everyone_else_is_acknowledged(
    slack_env: None, fake_slack: FakeSlackAPI
) -> None:
    # the bus holds 15 messages; the flooder sends 40 in 40 threads while replies are slow. With the
    # default per-person rate limit they take 10 places, not all 15: nobody else waits past
    # ack_timeout (that would be a 503 and a retry storm from Slack)
    slow = {"delay": 0.3}
    async with run_slack_bot(fake_slack, limits={}, bus={"max_pending": 15}, echo_settings=slow) as rig:
        flood = [rig.sender.post_event(mention(f"CF{i}", "flood", user="UFLOOD")) for i in range(40)]
        flooded = await asyncio.gather(*flood)
        others = await asyncio.gather(
            *(rig.sender.post_event(mention(f"CO{i}", "hello", user=f"U{i}")) for i in range(5))
        )
        assert [status for status, _ in others] == [200] * 5
        assert {status for status, _ in flooded} == {200}  # stored and refused politely, not 503
        await wait_for(lambda: rig.channel.delivered_count >= 10 + 5 + 1, timeout=30)
        posted = [m for m in rig.fake.messages.values() if m.text]
    assert sum("slow down" in m.text for m in posted) == 1  # one polite reply, then silence
    assert sum(m.text == "flood" for m in posted) == 10 and sum(m.text == "hello" for m in posted) == 5
