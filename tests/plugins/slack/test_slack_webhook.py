"""The HTTP endpoint against bad input: nothing unsigned, oversized or malformed is processed."""

from __future__ import annotations

import json
import logging
import time

import pytest
from interplay.core import PluginError
from interplay.plugins.slack.testing import (
    TEST_SECRET as SECRET,
)
from interplay.plugins.slack.testing import (
    TEST_TOKEN as TOKEN,
)
from interplay.plugins.slack.testing import (
    SlackRig,
    direct_message,
    envelope,
    mention,
    reaction,
    run_slack_bot,
    wait_for,
)
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI


async def assert_nothing_processed(rig: SlackRig) -> None:
    store = rig.store
    assert await store.pending() == []
    assert store.messages == {}  # type: ignore[attr-defined]  # MemoryStore
    assert rig.fake.calls_to("chat.postMessage") == []


async def test_url_verification_echoes_the_challenge(rig: SlackRig) -> None:
    payload = {
        "token": "t",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    status, text = await rig.sender.post_event(payload)
    assert status == 200
    assert json.loads(text) == {"challenge": payload["challenge"]}


async def test_url_verification_needs_a_signature_too(rig: SlackRig) -> None:
    status, text = await rig.sender.post_event({"type": "url_verification", "challenge": "x"}, signed=False)
    assert status == 401 and "x" not in text


@pytest.mark.parametrize(
    "forgery",
    [
        {"signed": False},
        {"secret": "not-the-secret"},
        {"timestamp": time.time() - 301},
        {"timestamp": time.time() + 600},
    ],
)
async def test_bad_signatures_get_401_and_nothing_is_processed(
    rig: SlackRig, forgery: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, _ = await rig.sender.post_event(mention("C1", "hello"), **forgery)  # type: ignore[arg-type]
    assert status == 401
    status, _ = await rig.sender.post_event(reaction("C1", "1.000001"), **forgery)  # type: ignore[arg-type]
    assert status == 401
    await assert_nothing_processed(rig)
    assert rig.store.feedback == []  # type: ignore[attr-defined]
    assert "rejected POST /slack/events" in caplog.text
    # the same request, correctly signed, is processed: the 401s above were the signature's doing
    assert (await rig.sender.post_event(mention("C1", "hello")))[0] == 200
    await wait_for(lambda: len(rig.fake.calls_to("chat.postMessage")) == 1)
    assert SECRET not in caplog.text and TOKEN not in caplog.text


async def test_body_over_the_limit_gets_413(slack_env: None, fake_slack: FakeSlackAPI) -> None:
    async with run_slack_bot(fake_slack, max_body_bytes=2048) as rig:
        payload = mention("C1", "x" * 4000)
        status, _ = await rig.sender.post_event(payload)
        assert status == 413
        # a chunked body (no Content-Length) is cut off at the limit too
        body = json.dumps(payload).encode()

        async def chunks():  # type: ignore[no-untyped-def]
            for i in range(0, len(body), 512):
                yield body[i : i + 512]

        from interplay.plugins.slack.signature import signed_headers

        async with rig.sender._session.post(  # type: ignore[union-attr]
            rig.channel.url + "/slack/events", data=chunks(), headers=signed_headers(SECRET, body)
        ) as response:
            assert response.status == 413
        status, _ = await rig.sender.post_event(mention("C1", "small"))
        assert status == 200
        await wait_for(lambda: len(rig.fake.calls_to("chat.postMessage")) == 1)


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 5000 + b"]" * 5000]  # too deep: no 500
)
async def test_malformed_json_gets_400(rig: SlackRig, body: bytes) -> None:
    status, _ = await rig.sender.post("/slack/events", body, {"Content-Type": "application/json"})
    assert status == 400
    await assert_nothing_processed(rig)


async def test_malformed_interaction_gets_400(rig: SlackRig) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    deep = b"payload=" + b"%5B" * 5000 + b"%5D" * 5000  # nested too deep for json: 400, not 500
    for body in (b"payload=%7Bnot-json", b"nothing=here", b"payload=%5B%5D", deep):
        status, _ = await rig.sender.post("/slack/interactions", body, form)
        assert status == 400, body
    status, _ = await rig.sender.post("/slack/interactions", b"payload=%7B%7D", form, signed=False)
    assert status == 401


@pytest.mark.parametrize(
    "event",
    [
        {"type": "channel_created", "channel": {"id": "C9"}},
        {"type": "team_join", "user": {"id": "U9"}},
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "tada",
            "item_user": "UBOT",
            "item": {"type": "message", "channel": "C1", "ts": "1.1"},
        },
    ],
)
async def test_unknown_events_get_200_and_are_ignored(rig: SlackRig, event: dict[str, object]) -> None:
    status, _ = await rig.sender.post_event(envelope(event))
    assert status == 200
    status, _ = await rig.sender.post_event({"type": "something_new", "x": 1})
    assert status == 200
    await assert_nothing_processed(rig)


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("hello", {"bot_id": "BBOT"}),
        ("hello", {"user": "UBOT"}),
        ("hello", {"subtype": "bot_message", "bot_id": "B2"}),
        ("hello", {"subtype": "message_changed"}),
        ("hello", {"subtype": "message_deleted"}),
        ("hello", {"subtype": "channel_join"}),
        ("   ", {}),
        ("<@UBOT>", {}),
    ],
)
async def test_bots_and_non_person_messages_are_ignored(
    rig: SlackRig, text: str, extra: dict[str, str]
) -> None:
    status, _ = await rig.sender.post_event(direct_message("D1", text, **extra))
    assert status == 200
    await assert_nothing_processed(rig)


async def test_a_channel_message_without_a_mention_is_ignored(rig: SlackRig) -> None:
    event = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "hi",
        "ts": "1.2",
        "channel": "C1",
    }
    assert (await rig.sender.post_event(envelope(event)))[0] == 200
    await assert_nothing_processed(rig)


async def start_slack_only(fake: FakeSlackAPI) -> None:
    """Start and stop a bot whose only channel is slack (PluginError if the channel cannot start)."""
    from interplay.plugins import slack
    from interplay.testing import run_bot

    settings = {"slack": {"port": 0, "api_base_url": fake.base_url}}
    async with run_bot(
        slack, installed=False, config={"pipeline": {"channels": ["slack"]}}, settings=settings
    ):
        pass


async def test_missing_secrets_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlackAPI
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with pytest.raises(PluginError, match="export SLACK_SIGNING_SECRET="):
        await start_slack_only(fake_slack)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    with pytest.raises(PluginError, match="export SLACK_BOT_TOKEN="):
        await start_slack_only(fake_slack)
    assert fake_slack.calls == []  # nothing was tried without both secrets


async def test_a_refused_token_is_reported(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlackAPI
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    with pytest.raises(PluginError, match=r"invalid_auth.*SLACK_BOT_TOKEN") as info:
        await start_slack_only(fake_slack)
    assert "xoxb-wrong" not in str(info.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    await start_slack_only(fake_slack)  # and the right token starts it


def test_unknown_settings_keys_are_rejected() -> None:
    from interplay.plugins.slack.channel import SlackSettings
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SlackSettings.model_validate({"signing_secrt": "$env:X"})
    with pytest.raises(ValidationError):
        SlackSettings.model_validate({"bot_token": "xoxb-inline-secret"})


async def test_a_port_in_use_is_reported_by_name(slack_env: None, fake_slack: FakeSlackAPI) -> None:
    from interplay.plugins import slack
    from interplay.testing import run_bot

    async with run_slack_bot(fake_slack) as rig:
        taken = {"port": rig.channel.port, "api_base_url": fake_slack.base_url}
        channels = {"pipeline": {"channels": ["slack", "fake"]}}
        async with run_bot(slack, installed=False, config=channels, settings={"slack": taken}) as other:
            assert "slack" not in other.bot.channels
            assert "choose another plugins.slack.port" in other.bot.status["slack"]
            assert (
                await other.say("the other channels keep running")
            ).text == "the other channels keep running"


async def test_a_store_outage_is_503_and_the_retried_event_is_answered_once(
    slack_env: None, fake_slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from interplay.core.store import MemoryStore

    class LockedStore(MemoryStore):
        locked = True

        async def record_inbound(self, message):  # type: ignore[no-untyped-def]
            if self.locked:
                raise sqlite3.OperationalError("database is locked")
            return await super().record_inbound(message)

    store = LockedStore()
    async with run_slack_bot(fake_slack, store=store) as rig:
        event = mention("C1", "while the store is locked", event_id="EvLOCKED")
        status, _ = await rig.sender.post_event(event)
        assert status == 503  # not stored: Slack must retry, and it will
        store.locked = False
        status, _ = await rig.sender.post_event(event, retry_num=1)
        assert status == 200
        await wait_for(lambda: rig.channel.delivered_count >= 1)
        assert [m.text for m in fake_slack.messages.values()] == ["while the store is locked"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a hiccup, not a traceback
