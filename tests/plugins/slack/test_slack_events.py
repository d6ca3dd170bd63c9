"""Event decisions, pure: what is answered, what is feedback, what is ignored and why."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from interplay.plugins.slack.events import Ignored, Incoming, Reaction, clean_text, decide, escape
from interplay.plugins.slack.feedback import read_button_click
from interplay.plugins.slack.testing import direct_message, envelope, mention, reaction


def test_mention_becomes_a_threaded_message() -> None:
    decision = decide(mention("C1", "hi <@U2>", ts="5.000001", user="U3", event_id="Ev1"), "UBOT")
    assert decision == Incoming("Ev1", "C1", "U3", "hi <@U2>", "5.000001", "5.000001", "T1")
    assert decision.conversation_id == "C1:5.000001"


def test_dm_top_level_is_one_conversation_and_a_dm_thread_another() -> None:
    top = decide(direct_message("D1", "hi"), "UBOT")
    threaded = decide(direct_message("D1", "hi", thread_ts="4.000001"), "UBOT")
    assert isinstance(top, Incoming) and top.thread_ts is None and top.conversation_id == "D1"
    assert isinstance(threaded, Incoming) and threaded.conversation_id == "D1:4.000001"


def test_without_event_or_id_is_ignored() -> None:
    assert isinstance(decide({"type": "event_callback"}, "UBOT"), Ignored)
    bad = envelope({"type": "app_mention"})
    del bad["event_id"]
    assert isinstance(decide(bad, "UBOT"), Ignored)


def test_mention_missing_fields_is_ignored_not_a_crash() -> None:
    assert isinstance(decide(envelope({"type": "app_mention", "text": "x"}), "UBOT"), Ignored)
    no_user = envelope({"type": "message", "channel_type": "im", "text": "x"})
    assert isinstance(decide(no_user, "UBOT"), Ignored)


def test_person_subtypes_are_answered() -> None:
    for subtype in ("thread_broadcast", "me_message", "file_share"):
        assert isinstance(decide(direct_message("D1", "words", subtype=subtype), "UBOT"), Incoming)


def test_reaction_decisions() -> None:
    thumbs_down = reaction("C1", "1.1", "-1", event_id="Ev9")
    assert decide(thumbs_down, "UBOT") == Reaction("Ev9", "U1", "C1", "1.1", -1.0, "T1")
    assert isinstance(decide(reaction("C1", "1.1", "heart"), "UBOT"), Ignored)
    file_reaction = envelope(
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "+1",
            "item_user": "UBOT",
            "item": {"type": "file", "file": "F1"},
        }
    )
    assert isinstance(decide(file_reaction, "UBOT"), Ignored)


def test_clean_text_removes_only_the_bots_mention() -> None:
    assert clean_text("<@UBOT> ask <@U2|ann> &lt;b&gt; &amp;amp;", "UBOT") == "ask <@U2|ann> <b> &amp;"
    assert clean_text("<@UBOT|interplay>\n line one\nline two ", "UBOT") == "line one\nline two"


def test_escape_round_trips_with_clean_text() -> None:
    text = "<!here> & <https://x|y> a<b"
    assert "<" not in escape(text) and clean_text(escape(text), None) == text


ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.sampled_from(["im", "U1", "D1", "+1"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)
EVENT_KEYS = [
    "type",
    "user",
    "channel",
    "channel_type",
    "ts",
    "thread_ts",
    "text",
    "subtype",
    "bot_id",
    "reaction",
    "item",
    "item_user",
]


@settings(max_examples=150, deadline=None)
@given(
    event=st.dictionaries(st.sampled_from(EVENT_KEYS), ANY, max_size=8),
    kind=st.sampled_from(["app_mention", "message", "reaction_added"]),
    team=ANY,
)
def test_any_field_types_are_decided_without_raising(event: dict, kind: str, team: object) -> None:
    decision = decide({"event_id": "Ev1", "team_id": team, "event": {**event, "type": kind}}, "UBOT")
    if isinstance(decision, Incoming):
        fields = (decision.channel, decision.user, decision.text, decision.ts, decision.team)
        assert all(isinstance(v, str) for v in fields)
        assert decision.thread_ts is None or isinstance(decision.thread_ts, str)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "user", "actions", "container", "channel", "message"]), ANY))
def test_any_interaction_shape_is_read_without_raising(payload: dict) -> None:
    click = read_button_click({**payload, "type": "block_actions"})
    assert click is None or all(isinstance(v, str) for v in (click.reply_id, click.user, click.channel))
