"""The bus's promises: order per conversation, concurrency across them, no loss, fallbacks."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from interplay.core.store import SQLiteStore
from interplay.testing import run_bot

from . import fakes


def bot(**kw):
    return run_bot(fakes, installed=False, **kw)


async def test_order_within_1000_conversations_under_random_delays():
    fakes.SEEN.clear()
    random.seed(7)
    async with bot(
        generator="recording",
        analyzers=["length"],
        settings={"recording": {"max_delay": 0.002}, "length": {"max_delay": 0.002}},
    ) as b:
        futures = []
        for i in range(20):
            for c in range(1000):
                message = b.channel.message(f"{c}:{i}", conversation=f"c{c}", user=f"u{c}")
                futures.append(await b.channel.submit(message))
        replies = await asyncio.wait_for(asyncio.gather(*futures), 120)
    assert len(replies) == 20_000
    for c in range(1000):
        assert fakes.SEEN[f"c{c}"] == [f"{c}:{i}" for i in range(20)]


async def test_a_slow_conversation_does_not_hold_up_others():
    async with bot(
        generator="recording", settings={"recording": {"slow_conversation": "slow", "slow_seconds": 2.0}}
    ) as b:
        slow = await b.channel.submit(b.channel.message("take your time", conversation="slow"))
        started = time.perf_counter()
        fast = await asyncio.gather(*(b.say(f"hi {i}", f"fast{i}", user=f"p{i}") for i in range(50)))
        assert time.perf_counter() - started < 1.0
        assert not slow.done()
        assert all(r.text.startswith("reply to hi") for r in fast)
        assert (await slow).text.startswith("reply to take your time")


@pytest.mark.parametrize("where", ["recording", "greet"])
async def test_a_raising_skill_or_generator_gives_the_fallback_and_the_next_message_works(where):
    text = "hello boom" if where == "greet" else "boom"  # "hello" routes to the greet skill
    settings = {where: {"fail_on": text}}
    async with bot(generator="recording", analyzers=["intent"], skills=["greet"], settings=settings) as b:
        failed = await b.say(text)
        assert failed.text == b.bot.config.bus.fallback_reply
        assert failed.source == "fallback" if where == "greet" else failed.source == "generator:recording"
        assert (await b.say("hello again")).text == "hi there!"
        assert (await b.say("what now")).text.startswith("reply to what now")


async def test_a_raising_analyzer_drops_only_its_tag_and_the_reply_still_comes():
    async with bot(
        generator="recording", analyzers=["length", "intent"], settings={"length": {"fail_on": "x"}}
    ) as b:
        reply = await b.say("x")
        assert reply.text.startswith("reply to x")
        assert set(reply.annotations) == {"intent"}
        assert b.bot.errors["length"] == 1
        assert set((await b.say("y")).annotations) == {"intent", "length"}


async def test_a_hanging_analyzer_times_out():
    async with bot(
        generator="recording",
        analyzers=["length"],
        config={"bus": {"analyzer_timeout": 0.2}},
        settings={"length": {"hang_on": "wait"}},
    ) as b:
        started = time.perf_counter()
        reply = await b.say("wait")
        assert time.perf_counter() - started < 2
        assert "length" not in reply.annotations and reply.text.startswith("reply to wait")


async def test_generation_timeout_gives_the_fallback():
    async with bot(
        generator="recording",
        config={"bus": {"generation_timeout": 0.3}},
        settings={"recording": {"hang_on": "stuck"}},
    ) as b:
        assert (await b.say("stuck")).text == b.bot.config.bus.fallback_reply
        assert (await b.say("fine")).text.startswith("reply to fine")


async def test_skills_answer_their_intent_before_the_generator():
    async with bot(generator="recording", analyzers=["intent"], skills=["greet"]) as b:
        assert (await b.say("hello")).source == "skill:greet"
        assert (await b.say("weather?")).source == "generator:recording"


async def test_history_reaches_the_generator_and_reset_clears_it():
    async with bot(generator="recording") as b:
        assert (await b.say("one")).text.endswith("(history 0)")
        assert (await b.say("two")).text.endswith("(history 2)")
        await b.say("/reset")
        assert (await b.say("three")).text.endswith("(history 0)")


async def test_backlog_past_the_limit_gets_the_busy_reply_and_nothing_is_lost():
    async with bot(
        generator="recording",
        config={"bus": {"conversation_backlog": 3}},
        settings={"recording": {"slow_conversation": "c1", "slow_seconds": 0.2}},
    ) as b:
        futures = [await b.channel.submit(b.channel.message(f"m{i}")) for i in range(6)]
        replies = await asyncio.gather(*futures)
    texts = [r.text for r in replies]
    assert texts.count(b.bot.config.bus.busy_reply) == 3
    assert [t for t in texts if t.startswith("reply")] == [
        f"reply to m{i} (history {2 * i})" for i in range(3)
    ]


async def test_repeated_external_id_is_processed_once_also_across_a_restart(tmp_path):
    path = tmp_path / "store.sqlite3"
    async with bot(generator="recording", store=SQLiteStore(path)) as b:
        first = await b.say("hi", external_id="u-1")
        dup = await b.say("hi", external_id="u-1")
    assert first.text.startswith("reply to hi") and dup.source == "duplicate"
    async with bot(generator="recording", store=SQLiteStore(path)) as b:
        assert (await b.say("hi", external_id="u-1")).source == "duplicate"
        assert (await b.say("hi", external_id="u-2")).text.startswith("reply to hi")


async def test_graceful_shutdown_finishes_in_flight_messages(tmp_path):
    async with bot(generator="recording", settings={"recording": {"max_delay": 0.3}}) as b:
        futures = [
            await b.channel.submit(b.channel.message(f"m{i}", conversation=f"c{i}")) for i in range(20)
        ]
    assert all(f.done() and f.result().text.startswith("reply to") for f in futures)


async def test_messages_stored_before_a_crash_are_answered_after_restart(tmp_path):
    from interplay.core import Message

    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    assert await store.record_inbound(Message("fake", "c9", "u", "left behind", external_id="e9"))
    await store.close()  # the process died before the worker started
    async with bot(generator="recording", store=SQLiteStore(tmp_path / "s.sqlite3")) as b:
        for _ in range(100):
            if b.channel.sent:
                break
            await asyncio.sleep(0.02)
        assert [r.text for r in b.channel.sent] == ["reply to left behind (history 0)"]


async def test_an_enabled_plugin_that_fails_to_start_stops_the_start_with_its_own_error():
    with pytest.raises(RuntimeError, match="model file missing"):  # not a bot answering apologies
        async with bot(generator="broken-start", analyzers=["length"]):
            pass


async def test_feedback_commands_rate_the_last_reply():
    async with bot(generator="recording") as b:
        answered = await b.say("rate me")
        assert (await b.say("/good")).text.startswith("Thanks")
        feedback = await b.store.feedback_for()
        assert [(f.reply_id, f.score, f.model_version) for f in feedback] == [
            (answered.reply.id, 1.0, "rec-1")
        ]


async def test_an_undeliverable_reply_marks_the_message_failed_without_a_traceback(caplog):
    caplog.set_level("INFO", "interplay")
    from interplay.core import Undeliverable
    from interplay.core.store import MemoryStore, Status

    store = MemoryStore()
    async with bot(generator="recording", store=store) as b:
        original = b.channel.send

        async def refuse(stream):
            raise Undeliverable("the user blocked the bot")

        b.channel.send = refuse
        future = await b.channel.submit(b.channel.message("anyone there?"))
        for _ in range(100):
            if Status.FAILED in store.status.values():
                break
            await asyncio.sleep(0.01)
        assert list(store.status.values()) == [Status.FAILED] and not future.done()
        assert "could not deliver the reply: the user blocked the bot" in caplog.text
        assert "Traceback" not in caplog.text
        b.channel.send = original
        assert (await b.say("and now?")).text.startswith("reply to and now?")


async def test_one_sender_cannot_fill_the_bus_and_starve_everyone_else():
    config = {"bus": {"max_pending": 10, "sender_backlog": 3}}
    settings = {"recording": {"hang_on": "flood"}}
    async with bot(generator="recording", config=config, settings=settings) as b:
        for c in range(30):  # one person, many threads (Slack: one per message), none ever answered
            await asyncio.wait_for(b.channel.submit(b.channel.message("flood", f"t{c}", user="flooder")), 2)
        reply = await asyncio.wait_for(b.say("hello", conversation="other", user="someone else"), 5)
        assert reply.text.startswith("reply to hello")
        assert b.bot.bus.pending == 3  # the flooder's first three; the rest got the busy reply
        for c in range(3):
            b.bot.bus.cancel(f"t{c}")
