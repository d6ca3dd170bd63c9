"""The web chat over a real WebSocket and HTTP (aiohttp's client): streaming, feedback, dedupe, order,
sessions and origins, and the HTTP API."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from interplay.plugins.webchat.auth import InvalidToken, SessionSigner

from .conftest import API_TOKEN, SECRET, webchat_bot

pytestmark = pytest.mark.usefixtures("webchat_env")


async def session_token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(f"{url}/session", headers={"Origin": url}) as r:
        assert r.status == 200
        return (await r.json())["token"]


async def connect(http: aiohttp.ClientSession, url: str, token: str | None = None) -> Any:
    ws = await http.ws_connect(f"{url}/ws", origin=url)
    await ws.send_json({"type": "auth", "token": token or await session_token(http, url)})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready", ready
    return ws


async def until(ws: Any, kind: str, timeout: float = 20) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Frames up to the first of `kind`: (that frame, the ones before it)."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = await ws.receive_json(timeout=timeout)
        if frame["type"] == kind:
            return frame, seen
        seen.append(frame)


async def test_a_reply_streams_delta_by_delta_and_a_thumb_is_stored_with_the_model_version():
    async with webchat_bot() as (bot, channel), aiohttp.ClientSession() as http:
        ws = await connect(http, channel.url)
        await ws.send_json({"type": "message", "id": "m1", "text": "one two three four"})
        end, before = await until(ws, "end")
        kinds = [f["type"] for f in before]
        assert kinds[:2] == ["ack", "start"] and before[0]["status"] == "accepted"
        deltas = [f["text"] for f in before if f["type"] == "delta"]
        assert deltas == ["one", " two", " three", " four"]
        assert end["text"] == "one two three four" and end["model_version"] == "echo-1" and end["rateable"]
        assert end["in_reply_to"] == "m1"
        await ws.send_json({"type": "feedback", "reply_id": end["reply_id"], "score": 1})
        ok, _ = await until(ws, "feedback_ok")
        await ws.send_json({"type": "feedback", "reply_id": end["reply_id"], "score": 1})  # a double click
        await until(ws, "feedback_ok")
        await ws.close()
        stored = await bot.store.feedback_for([end["reply_id"]])
    assert ok["model_version"] == "echo-1"
    assert [(f.score, f.model_version, f.channel) for f in stored] == [(1.0, "echo-1", "webchat")]


async def test_a_resent_client_id_is_a_duplicate_and_replies_keep_the_conversation_order():
    async with webchat_bot(delay=0.02) as (_bot, channel), aiohttp.ClientSession() as http:
        ws = await connect(http, channel.url)
        for i in range(3):
            await ws.send_json({"type": "message", "id": f"m{i}", "text": f"message {i} with words"})
        await ws.send_json({"type": "message", "id": "m1", "text": "message 1 with words"})  # a resend
        frames: list[dict[str, Any]] = []
        while sum(f["type"] == "end" for f in frames) < 3:
            frames.append(await ws.receive_json(timeout=20))
        with pytest.raises(asyncio.TimeoutError):  # nothing more comes for the duplicate
            frames.append(await ws.receive_json(timeout=0.5))
        acks = {f["id"]: f["status"] for f in frames if f["type"] == "ack"}
        await ws.close()
    assert [f["in_reply_to"] for f in frames if f["type"] == "end"] == ["m0", "m1", "m2"]
    ends = [f["text"] for f in frames if f["type"] == "end"]
    assert ends == [f"message {i} with words" for i in range(3)]
    assert list(acks.values()).count("duplicate") == 1 and acks["m0"] == "accepted"
    # deltas of one reply never interleave with another's
    order = [f["reply_id"] for f in frames if f["type"] in ("start", "delta", "end")]
    assert order == sorted(order, key=order.index) and len(set(order)) == 3


async def test_two_tabs_of_one_session_both_see_the_reply_and_history_comes_back():
    async with webchat_bot() as (_bot, channel), aiohttp.ClientSession() as http:
        token = await session_token(http, channel.url)
        first, second = await connect(http, channel.url, token), await connect(http, channel.url, token)
        await first.send_json({"type": "message", "id": "x", "text": "hello tabs"})
        user, _ = await until(second, "user")
        assert user["text"] == "hello tabs"
        assert (await until(second, "end"))[0]["text"] == "hello tabs"
        assert (await until(first, "end"))[0]["text"] == "hello tabs"
        await first.close()
        await second.close()
        again = await http.ws_connect(f"{channel.url}/ws", origin=channel.url)
        await again.send_json({"type": "auth", "token": token})
        ready = await again.receive_json(timeout=10)
        await again.close()
    assert [(t["role"], t["text"]) for t in ready["history"]] == [
        ("user", "hello tabs"),
        ("assistant", "hello tabs"),
    ]


async def test_feedback_on_another_conversations_reply_is_refused():
    async with webchat_bot() as (bot, channel), aiohttp.ClientSession() as http:
        alice = await connect(http, channel.url)
        await alice.send_json({"type": "message", "id": "a", "text": "mine"})
        end, _ = await until(alice, "end")
        mallory = await connect(http, channel.url)
        await mallory.send_json({"type": "feedback", "reply_id": end["reply_id"], "score": -1})
        error, _ = await until(mallory, "error")
        await alice.close()
        await mallory.close()
        assert await bot.store.feedback_for() == []
    assert error["message"] == "no such reply in this conversation"


async def test_off_origin_and_unauthenticated_sockets_are_refused():
    async with webchat_bot() as (_bot, channel), aiohttp.ClientSession() as http:
        url = channel.url
        for origin in ("http://evil.example", None):
            headers = {"Origin": origin} if origin else {}
            async with http.post(f"{url}/session", headers=headers) as r:
                assert r.status == 403 and "not allowed" in (await r.json())["error"]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{url}/ws", headers=headers)
            assert refused.value.status == 403
        signer = SessionSigner(SECRET)
        forged = SessionSigner("another-secret-0123456789").sign("someone")
        expired = signer.sign("someone", ttl=-10)
        for token, why in [(forged, "signature"), (expired, "expired"), ("garbage", "malformed")]:
            ws = await http.ws_connect(f"{url}/ws", origin=url)
            await ws.send_json({"type": "auth", "token": token})
            error = await ws.receive_json(timeout=5)
            assert error["type"] == "error" and why in error["message"]
            await ws.receive(timeout=5)
            assert ws.close_code == 4401
        ws = await http.ws_connect(f"{url}/ws", origin=url)
        await ws.send_json({"type": "message", "id": "1", "text": "no auth first"})
        assert (await ws.receive_json(timeout=5))["type"] == "error"
        await ws.close()


async def test_listed_origins_may_embed_it_and_anonymous_sessions_can_be_turned_off():
    async with webchat_bot(allowed_origins=["https://shop.example"], anonymous=False) as (_bot, channel):
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{channel.url}/session", headers={"Origin": "https://shop.example"}) as r:
                assert r.status == 403 and "interplay webchat token" in (await r.json())["error"]
            token = SessionSigner(SECRET).sign("known-user", ttl=60)
            ws = await http.ws_connect(f"{channel.url}/ws", origin="https://shop.example")
            await ws.send_json({"type": "auth", "token": token})
            ready = await ws.receive_json(timeout=5)
            await ws.close()
            async with http.get(f"{channel.url}/") as page:
                csp = page.headers["Content-Security-Policy"]
    assert ready["user"] == "known-user" and ready["conversation"] == "web:known-user"
    assert "frame-ancestors 'self' https://shop.example" in csp


def test_session_tokens_carry_user_conversation_and_expiry():
    signer = SessionSigner(SECRET)
    session = signer.verify(signer.sign("u1", "support-42", ttl=60))
    assert (session.user_id, session.conversation_id) == ("u1", "support-42")
    assert 50 < session.expires - time.time() <= 61
    body, _, mac = signer.sign("u1").partition(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    with pytest.raises(InvalidToken, match="signature"):
        signer.verify(tampered)
    with pytest.raises(Exception, match="at least 16"):
        SessionSigner("short")


# -- the HTTP API --------------------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def test_api_send_whole_and_streamed_read_history_and_rate():
    async with webchat_bot() as (bot, channel), aiohttp.ClientSession() as http:
        base = f"{channel.url}/api/v1/conversations/crm-7"
        async with http.post(
            f"{base}/messages", json={"text": "hi from crm", "user": "agent"}, headers=AUTH
        ) as r:
            whole = await r.json()
        assert r.status == 200 and whole["reply"]["text"] == "hi from crm"
        assert whole["reply"]["model_version"] == "echo-1" and whole["status"] == "accepted"
        body = {"text": "stream these words", "id": "req-1", "stream": True}
        async with http.post(f"{base}/messages", json=body, headers=AUTH) as r:
            assert r.headers["Content-Type"].startswith("text/event-stream")
            raw = (await r.read()).decode()
        events = [
            (
                block.split("\n")[0].removeprefix("event: "),
                json.loads(block.split("\n")[1].removeprefix("data: ")),
            )
            for block in raw.strip().split("\n\n")
        ]
        assert [e for e, _ in events] == ["accepted", "delta", "delta", "delta", "reply"]
        assert "".join(d["text"] for e, d in events if e == "delta") == "stream these words"
        async with http.post(f"{base}/messages", json=body, headers=AUTH) as r:
            assert r.status == 409 and (await r.json())["status"] == "duplicate"
        async with http.get(f"{base}/history?limit=10", headers=AUTH) as r:
            turns = (await r.json())["turns"]
        assert [t["text"] for t in turns] == [
            "hi from crm",
            "hi from crm",
            "stream these words",
            "stream these words",
        ]
        reply_id = whole["reply"]["id"]
        async with http.post(
            f"{channel.url}/api/v1/replies/{reply_id}/feedback", json={"score": -1}, headers=AUTH
        ) as r:
            assert r.status == 200 and (await r.json())["model_version"] == "echo-1"
        assert [f.score for f in await bot.store.feedback_for([reply_id])] == [-1.0]


async def test_api_refuses_a_missing_token_another_origin_and_bad_bodies():
    async with webchat_bot() as (_bot, channel), aiohttp.ClientSession() as http:
        url = f"{channel.url}/api/v1/conversations/c/messages"
        async with http.post(url, json={"text": "x"}) as r:
            assert r.status == 401
        async with http.post(url, json={"text": "x"}, headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with http.post(url, json={"text": "x"}, headers={**AUTH, "Origin": "http://evil.example"}) as r:
            assert r.status == 403
        async with http.post(url, data="not json", headers=AUTH) as r:
            assert r.status == 400 and '"text"' in (await r.json())["error"]
    async with webchat_bot(api_token="") as (_bot, channel), aiohttp.ClientSession() as http:
        async with http.get(f"{channel.url}/api/v1/conversations/c/history", headers=AUTH) as r:
            assert r.status == 404 and "api_token" in (await r.json())["error"]


async def test_the_page_and_its_script_are_served():
    async with webchat_bot(title="Shop <help>") as (_bot, channel), aiohttp.ClientSession() as http:
        async with http.get(f"{channel.url}/") as r:
            html = await r.text()
        async with http.get(f"{channel.url}/static/chat.js") as r:
            script = await r.text()
        async with http.get(f"{channel.url}/static/../settings.py") as r:
            assert r.status == 404
    assert "<title>Shop &lt;help&gt;</title>" in html and 'src="/static/chat.js"' in html
    assert "new WebSocket" in script


async def test_a_missing_secret_stops_the_bot_with_what_to_set(monkeypatch):
    monkeypatch.delenv("WEBCHAT_SECRET")
    with pytest.raises(Exception, match="export WEBCHAT_SECRET"):
        async with webchat_bot():
            pass
