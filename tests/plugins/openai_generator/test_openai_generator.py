"""The `openai` generator, driven through the official client against servers on 127.0.0.1.

The normal path runs against Interplay's own `OpenAIServer` (what `interplay serve-openai` runs);
the error paths against `FaultyServer`, a scripted fake speaking the same SSE protocol.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from interplay.core import Conversation, Message, ModelError, PluginContext, PluginError, Turn
from interplay.core.store import MemoryStore
from interplay.plugins import echo
from interplay.plugins.openai_generator.generator import OpenAIGenerator
from interplay.plugins.openai_generator.server import OpenAIServer
from interplay.testing import run_bot

from .conftest import FaultyServer, serving

WORDS = ["Hello", " from", " the", " server", "."]


def generator_for(url: str, **settings: Any) -> OpenAIGenerator:
    values = {"base_url": url, "model": "fake-model", "retry_delay": 0.0, **settings}
    return OpenAIGenerator(OpenAIGenerator.Settings(**values), PluginContext(MemoryStore(), None, None))  # type: ignore[arg-type]


def conversation(text: str = "hi", history: tuple[Turn, ...] = ()) -> Conversation:
    return Conversation("c", Message("t", "c", "u", text), history)


async def collect(gen: OpenAIGenerator, conv: Conversation | None = None) -> list[str]:
    return [d async for d in gen.stream(conv or conversation())]


async def echo_server(**kw: Any) -> OpenAIServer:
    served = echo.EchoGenerator(echo.EchoSettings(), PluginContext(MemoryStore(), None, None))  # type: ignore[arg-type]
    return OpenAIServer(served, **kw)


async def test_a_bot_streams_the_reply_token_by_token_with_the_model_name_as_version():
    server = await echo_server()
    async with serving(server.app) as url:
        settings = {"openai": {"base_url": url, "model": "echo-1"}}
        async with run_bot(generator="openai", settings=settings) as bot:
            reply = await bot.say("one two three")
            stored = await bot.store.get_reply(reply.reply.id)
    assert reply.text == "one two three" and reply.deltas == ["one", " two", " three"]
    assert reply.source == "generator:openai" and reply.model_version == "echo-1"
    assert stored is not None and stored.model_version == "echo-1"


async def test_system_prompt_history_budget_and_api_key_go_out(monkeypatch):
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-123")
    fake = FaultyServer(WORDS)
    history = tuple(
        Turn("user" if i % 2 == 0 else "assistant", f"turn {i} " + "x" * 40, str(i)) for i in range(10)
    )
    async with serving(fake.app) as url:
        gen = generator_for(url, api_key="$env:FAKE_OPENAI_KEY", system_prompt="Be brief.", context_chars=210)
        await gen.start()
        try:
            assert "".join(await collect(gen, conversation("latest?", history))) == "Hello from the server."
        finally:
            await gen.stop()
    (sent,) = fake.requests
    roles = [m["role"] for m in sent["messages"]]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["messages"][-1] == {"role": "user", "content": "latest?"}
    kept = [m["content"][:6] for m in sent["messages"][1:-1]]
    assert kept == ["turn 6", "turn 7", "turn 8", "turn 9"]  # the oldest turns left first
    assert roles[1:-1] == ["user", "assistant", "user", "assistant"] and sent["stream"] is True
    assert sent["model"] == "fake-model" and fake.headers[0]["Authorization"] == "Bearer sk-test-123"


async def test_429_and_5xx_are_retried_before_any_text_honouring_retry_after():
    fake = FaultyServer(WORDS, [("status", 429, {"Retry-After": "0"}), ("status", 503), ("status", 500)])
    async with serving(fake.app) as url:
        gen = generator_for(url, retries=3, check_at_start=False)
        await gen.start()
        try:
            assert "".join(await collect(gen)) == "Hello from the server."
        finally:
            await gen.stop()
    assert len(fake.requests) == 4 and gen.requests == 4


async def test_giving_up_after_the_retries_is_a_clear_error_and_the_bot_falls_back():
    fake = FaultyServer(WORDS, [("status", 502)] * 3)
    async with serving(fake.app) as url:
        gen = generator_for(url, retries=1, check_at_start=False)
        await gen.start()
        with pytest.raises(ModelError, match=r"HTTP 502 fault 502, 2 attempt\(s\), giving up"):
            await collect(gen)
        await gen.stop()
        fake.faults = [("status", 500)] * 5
        settings = {"openai": {"base_url": url, "model": "fake-model", "retries": 0, "check_at_start": False}}
        async with run_bot(generator="openai", settings=settings) as bot:
            reply = await bot.say("hi")
            assert reply.source == "generator:openai" and reply.text == bot.bot.config.bus.fallback_reply
            assert bot.bot.errors["openai"] == 1


@pytest.mark.parametrize("fault", [("cut", 2), ("error-event", 2)])
async def test_a_stream_that_breaks_after_text_is_not_asked_again(fault):
    fake = FaultyServer(WORDS, [fault])
    async with serving(fake.app) as url:
        settings = {"openai": {"base_url": url, "model": "fake-model", "retries": 3, "retry_delay": 0}}
        async with run_bot(generator="openai", settings=settings) as bot:
            reply = await bot.say("hi")
    assert reply.text.startswith("Hello from … (")  # what was delivered stays, with the fallback note
    assert len(fake.requests) == 1  # nothing was resent


async def test_a_stream_cut_before_any_text_is_retried():
    fake = FaultyServer(WORDS, [("cut", 0)])
    async with serving(fake.app) as url:
        gen = generator_for(url, retries=1, check_at_start=False)
        await gen.start()
        try:
            assert "".join(await collect(gen)) == "Hello from the server."
        finally:
            await gen.stop()
    assert len(fake.requests) == 2


async def test_a_slow_server_times_out_and_is_retried():
    fake = FaultyServer(WORDS, [("slow", 1.5)])
    async with serving(fake.app) as url:
        gen = generator_for(url, retries=1, timeout=0.5, check_at_start=False)
        await gen.start()
        try:
            assert "".join(await collect(gen)) == "Hello from the server."
        finally:
            await gen.stop()
    assert len(fake.requests) == 2


async def test_a_wrong_key_or_model_is_not_retried_and_says_what_to_fix():
    fake = FaultyServer(WORDS, [("status", 401), ("status", 404)])
    async with serving(fake.app) as url:
        gen = generator_for(url, check_at_start=False)
        await gen.start()
        with pytest.raises(ModelError, match="refused the API key"):
            await collect(gen)
        with pytest.raises(ModelError, match="has no model 'fake-model'"):
            await collect(gen)
        await gen.stop()
    assert len(fake.requests) == 2


async def test_start_fails_clearly_when_the_server_is_unreachable_or_the_key_is_unset(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gen = generator_for(f"http://127.0.0.1:{port}/v1", timeout=2)
    with pytest.raises(PluginError, match=rf"cannot reach http://127.0.0.1:{port}/v1 .*fix base_url"):
        await gen.start()
    await gen.stop()
    monkeypatch.delenv("NO_SUCH_OPENAI_KEY", raising=False)
    with pytest.raises(Exception, match="export NO_SUCH_OPENAI_KEY"):
        await generator_for("http://127.0.0.1:1/v1", api_key="$env:NO_SUCH_OPENAI_KEY").start()


def test_settings_want_a_model_and_refuse_inline_keys():
    with pytest.raises(Exception, match="model"):
        OpenAIGenerator.Settings(base_url="http://x/v1")
    with pytest.raises(Exception, match="never written inline"):
        OpenAIGenerator.Settings(model="m", api_key="sk-inline")
