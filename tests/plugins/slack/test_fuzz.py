"""Property-based fuzzing of Slack payloads: the parsers and the signed webhook endpoint itself."""

from __future__ import annotations

import itertools
import json
from contextlib import asynccontextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interplay.plugins.slack.events import Ignored, Incoming, Reaction, decide
from interplay.plugins.slack.feedback import ButtonClick, read_button_click
from interplay.plugins.slack.testing import TEST_TOKEN, run_slack_bot
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI

from tests.core.fuzz_harness import TEXT as ANY_TEXT
from tests.core.fuzz_harness import LiveBot

FUZZ = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck), max_examples=300)
TEXT = st.text(st.characters(exclude_categories=()), max_size=80)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
# Slack's own field types with arbitrary values (signed payloads come from Slack, which keeps to them).
STR = TEXT | st.sampled_from(["", "U1", "UBOT", "D1", "C1", "1.0", "im", "+1", "-1::skin-tone-2"])
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["message", "app_mention", "reaction_added", "team_join"]) | STR,
        "user": STR,
        "channel": STR,
        "channel_type": st.sampled_from(["im", "channel", "group"]),
        "ts": STR,
        "thread_ts": STR,
        "text": STR,
        "subtype": st.sampled_from(["bot_message", "thread_broadcast", "message_changed"]) | STR,
        "bot_id": STR,
        "reaction": STR,
        "item": st.fixed_dictionaries(
            {}, optional={"type": st.just("message") | STR, "channel": STR, "ts": STR}
        ),
        "item_user": STR,
    },
)
ENVELOPE = st.fixed_dictionaries({}, optional={"event": EVENT, "event_id": STR, "team_id": STR})
CLICK = st.fixed_dictionaries(
    {},
    optional={
        "type": st.just("block_actions") | STR,
        "user": st.fixed_dictionaries({}, optional={"id": STR}),
        "actions": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "action_id": st.sampled_from(["interplay_good", "interplay_bad"]) | STR,
                    "value": STR,
                },
            ),
            max_size=2,
        ),
        "container": st.fixed_dictionaries({}, optional={"channel_id": STR}),
        "channel": st.fixed_dictionaries({}, optional={"id": STR}),
        "message": st.fixed_dictionaries({}, optional={"thread_ts": STR}),
    },
)


@FUZZ
@given(ENVELOPE, st.sampled_from([None, "UBOT"]))
def test_any_event_envelope_is_decided_without_raising(envelope, bot):
    decision = decide(envelope, bot)
    assert isinstance(decision, Incoming | Reaction | Ignored)
    if isinstance(decision, Incoming):
        assert all(isinstance(v, str) for v in (decision.channel, decision.user, decision.text, decision.ts))
        assert decision.text and json.dumps(decision.conversation_id)


@FUZZ
@given(CLICK)
def test_any_interaction_payload_is_read_without_raising(payload):
    click = read_button_click(payload)
    assert click is None or isinstance(click, ButtonClick)


def test_payloads_with_unexpected_types_are_ignored():
    """Found by fuzzing with arbitrary JSON (was a strict xfail until plugins/slack checked types)."""
    assert isinstance(
        decide({"event_id": "E", "event": {"type": "app_mention", "subtype": []}}, None), Ignored
    )
    assert read_button_click({"type": "block_actions", "actions": [], "user": "U1"}) is None


# Through the real endpoint: signed requests with Slack's own field types and arbitrary values.
_ids = itertools.count()
DM = st.builds(
    lambda text, user, thread, ts: {
        "type": "event_callback",
        "event_id": f"Ev{next(_ids)}",
        "team_id": "T1",
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": "D1",
            "user": "U" + user,
            "text": text,
            "ts": ts,
            **({"thread_ts": thread} if thread else {}),
        },
    },
    ANY_TEXT,
    st.text(max_size=12),
    st.none() | st.text(max_size=20),
    st.text(min_size=1, max_size=20),
)
BODY = st.binary(max_size=200) | st.builds(lambda value: json.dumps(value).encode(), JSON)


@asynccontextmanager
async def _slack():
    async with FakeSlackAPI(token=TEST_TOKEN) as fake, run_slack_bot(fake) as rig:
        yield rig


def test_the_events_endpoint_answers_any_signed_body_without_a_500(slack_env):
    with LiveBot(_slack) as live:
        rig = live.bot

        @settings(FUZZ, max_examples=150)
        @given(DM | st.builds(lambda b: b, BODY))
        def post(payload):
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            status, _ = live.call(
                lambda: rig.sender.post(rig.sender.events_path, body, {"Content-Type": "application/json"})
            )
            assert status in (200, 400), status

        post()
        live.call(lambda: rig.bot.bot.bus.drain(10))
        assert not rig.bot.bot.errors, rig.bot.bot.errors
        live.assert_clean()
