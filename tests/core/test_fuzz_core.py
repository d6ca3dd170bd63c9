"""Property-based fuzzing of the core: any message, any ids, through a real bot with a SQLite store."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interplay.core import Message, Submitted
from interplay.core.store import SQLiteStore
from interplay.testing import run_bot

from . import fakes
from .fuzz_harness import MEMORY_BUDGET, TEXT, HeapWatch, LiveBot

IDS = st.text(max_size=40) | st.sampled_from(["", " ", "c1", "../../etc", "a" * 500])
MESSAGES = st.builds(
    lambda text, conv, user, ext: (text, conv, user, ext),
    TEXT,
    IDS,
    IDS,
    st.none() | IDS,
)
FUZZ = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))


def _bot(tmp_path):
    return run_bot(
        fakes,
        installed=False,
        analyzers=["length", "intent"],
        skills=["greet"],
        generator="recording",
        store=SQLiteStore(tmp_path / "fuzz.sqlite3", cache_conversations=16),  # full early: then flat
        # no rate limit here: its silent refusals send no reply to wait for (test_limits.py covers them)
        config={
            "interplay": {"admins": ["admin"]},
            "limits": {"max_message_chars": 200, "messages_per_minute": 0},
        },
    )


async def _one(bot, fields) -> None:
    text, conv, user, ext = fields
    channel = bot.channel
    message = Message(channel.name, conv, user, text, external_id=ext)
    future = await channel.submit(message)
    reply = await future
    if reply.source != "duplicate":
        assert isinstance(reply.text, str)
        assert reply.text.encode("utf-8")  # stored and sent text is valid UTF-8
    channel.sent.clear()
    fakes.SEEN.clear()  # the fake generator's own record, not the bot's memory


def _fuzz(tmp_path, examples: int, measure: bool = False) -> None:
    with LiveBot(lambda: _bot(tmp_path)) as live:
        watch = HeapWatch()

        @settings(FUZZ, max_examples=examples)
        @given(MESSAGES)
        def feed(fields):
            live.call(lambda: _one(live.bot, fields))
            if measure and feed.count == examples // 2:
                watch.start()
            if measure and feed.count == examples * 3 // 4:
                watch.mark()
            feed.count += 1

        feed.count = 0
        feed()
        assert feed.count >= examples  # hypothesis ran them all, not fewer
        bus = live.bot.bot.bus
        # the last reply resolves its future before its worker pops the queue: let workers finish
        assert live.call(lambda: bus.drain(10))
        assert bus.pending == 0 and bus.conversations == 0
        assert not live.bot.bot.errors, live.bot.bot.errors
        live.assert_clean()
        if measure:
            growth = watch.growth()
            print(
                f"heap grew {growth / 1024:.0f} KiB over the last {examples // 4} inputs", file=sys.__stderr__
            )
            assert growth < MEMORY_BUDGET, f"heap grew {growth / 2**20:.1f} MiB over {examples // 4} inputs"


def test_any_message_is_answered_without_errors(tmp_path):
    _fuzz(tmp_path, examples=150)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_messages_in_bounded_memory(tmp_path):
    _fuzz(tmp_path, examples=10_000, measure=True)


async def test_lone_surrogates_are_stored_as_replacement_characters():
    async with run_bot(installed=False) as bot:
        reply = await bot.say("caf\udce9 \ud83d", user="u\udfff")
        assert await bot.bot.bus.submit(bot.channel.message("x", external_id="\ud800")) is Submitted.ACCEPTED
    assert reply.text == "caf\ufffd \ufffd"
    assert reply.reply is not None and reply.reply.text == "caf\ufffd \ufffd"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_memory_check_catches_a_leak(tmp_path, monkeypatch):
    """The check above can fail: a generator that keeps 4 KiB per reply (a third of inputs) trips it."""
    kept: list[bytearray] = []
    real = fakes.RecordingGenerator.stream

    def leaky(self, conversation):
        kept.append(bytearray(4096))  # a new object each time (b"x" * n is one folded constant)
        return real(self, conversation)

    monkeypatch.setattr(fakes.RecordingGenerator, "stream", leaky)
    with pytest.raises(AssertionError, match="heap grew"):
        _fuzz(tmp_path, examples=2_000, measure=True)
