"""RedisStore keeps the store contract: the same tests as the SQLite and memory stores, on Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from interplay.core import Message
from interplay.core.scale.keys import Keys
from interplay.core.scale.store import RedisStore
from redis.asyncio import Redis

from tests.core.test_store import (  # the shared contract, collected again here with a Redis store
    answer,
    msg,
    test_dedupe_keys_and_replies_by_external_id,
    test_dialogue_state_per_person_cleared_by_reset_and_forget_user,
    test_feedback_round_trip_and_forget_user,
    test_history_is_oldest_first_limited_and_reset,
    test_pending_lists_only_messages_never_started,
)

__all__ = [
    "test_dedupe_keys_and_replies_by_external_id",
    "test_dialogue_state_per_person_cleared_by_reset_and_forget_user",
    "test_feedback_round_trip_and_forget_user",
    "test_history_is_oldest_first_limited_and_reset",
    "test_pending_lists_only_messages_never_started",
]


@pytest.fixture
async def store(redis_server):
    client = Redis.from_url(redis_server.url, decode_responses=True)
    s = RedisStore(client, Keys("t", 4), url=redis_server.url)
    await s.open()
    yield s
    await s.close()


async def test_a_second_store_on_the_same_redis_sees_everything(store, redis_server):
    """What makes scale-out work: any worker process reads what another one wrote."""
    m = msg("from worker one", external_id="e1", annotations={})
    assert await store.record_inbound(m)
    await answer(store, m, "reply one")
    other = RedisStore(Redis.from_url(redis_server.url, decode_responses=True), Keys("t", 4))
    try:
        assert [t.text for t in await other.history("c", 10)] == ["from worker one", "reply one"]
        assert not await other.record_inbound(msg("again", external_id="e1"))
        assert (await other.last_reply("c")).text == "reply one"
    finally:
        await other.close()


async def test_annotations_and_meta_survive_the_round_trip(store):
    from interplay.core import Annotation

    m = Message("test", "c", "u", "hi", meta={"thread": "t1"}).annotated(
        {"intent": Annotation("intent", "greet", 0.75, (("greet", 0.75), ("bye", 0.25)))}
    )
    await store.record_inbound(m)
    await answer(store, m, "hello")
    (turn, _) = await store.history("c", 2)
    assert turn.annotations["intent"].label == "greet"
    assert turn.annotations["intent"].top == (("greet", 0.75), ("bye", 0.25))
    (exported, reply) = (await store.exchanges())[0]
    assert exported.meta["thread"] == "t1" and reply.text == "hello"


async def test_prefixes_keep_two_bots_apart(store, redis_server):
    other = RedisStore(Redis.from_url(redis_server.url, decode_responses=True), Keys("other", 4))
    try:
        assert await store.record_inbound(msg("x", external_id="same"))
        assert await other.record_inbound(msg("x", external_id="same"))
    finally:
        await other.close()


async def test_opt_outs_are_shared(store):
    await store.set_opt_out("u1", True)
    await store.set_opt_out("u2", True)
    await store.set_opt_out("u2", False)
    assert await store.opted_out() == {"u1"}


async def test_an_unreachable_redis_says_what_to_do():
    from interplay.core import InterplayError

    from .redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    s = RedisStore(Redis.from_url(url, socket_connect_timeout=1), Keys("t", 4), url=url)
    where = r"cannot reach Redis at redis://127\.0\.0\.1:\d+/0 .*start redis-server or set \[redis\] url"
    with pytest.raises(InterplayError, match=where):
        await s.open()
    await s.close()


async def test_it_backs_an_ordinary_single_process_bot(store):
    """[store] backend = "redis" with the in-process bus: messages stored before a crash are answered."""
    from interplay.testing import run_bot

    stranded = Message("fake", "c1", "u1", "stored before a crash")
    await store.record_inbound(stranded)  # RECEIVED, never started: recover() must answer it
    async with run_bot(store=store) as bot:
        assert (await bot.say("hello redis")).text == "hello redis"
        await asyncio.sleep(0.2)
        texts = [t.text for t in await store.history("c1", 10)]
    assert sorted(texts) == sorted(["stored before a crash"] * 2 + ["hello redis"] * 2)
    assert await store.pending() == []


async def test_storing_the_same_reply_again_adds_no_turn(store):
    """A store step re-run after a lost connection (redis-py retries it) must not double the history."""
    from interplay.core import Reply

    m = msg("once")
    await store.record_inbound(m)
    reply = Reply(m.id, "c", "test", "one answer", "generator:x")
    await store.record_reply(m, reply)
    await store.record_reply(m, reply)
    assert [t.text for t in await store.history("c", 10)] == ["once", "one answer"]


async def test_a_weather_dialogue_goes_on_across_two_bots_on_one_redis(redis_server):
    """Dialogue state lives in Redis: the answer may reach another process (or a restarted one)."""
    from interplay.plugins import weather_skill
    from interplay.testing import run_bot

    from tests.plugins.entities.test_weather_skill import StandIns

    async def turn(text: str, user: str = "u") -> str:
        store = RedisStore(Redis.from_url(redis_server.url, decode_responses=True), Keys("d", 4))
        async with run_bot(
            StandIns,
            weather_skill,
            analyzers=["slots", "intent"],
            skills=["weather"],
            settings={"weather": {"analyzer": "slots"}},
            installed=False,
            store=store,
        ) as bot:
            return (await bot.say(text, conversation="group", user=user)).text

    assert (await turn("weather please")).startswith("Which place")
    assert await turn("Madrid", user="someone else") == "Madrid"  # echo: nobody asked them
    assert (await turn("Lisbon")).startswith("I understood: the weather in Lisbon.")


async def test_forget_in_redis_is_exact_and_leaves_nothing_in_a_dump(own_redis):
    from interplay.core import Feedback
    from interplay.core.scale import codec

    alice, bob = "zebra-quokka-4417", "yak-ibis-2291"
    client = Redis.from_url(own_redis.url, decode_responses=True)
    keys = Keys("f", 2)
    store = RedisStore(client, keys, url=own_redis.url)
    sent: list[Message] = []
    for i in range(3):
        for user, word, conversation in (("alice", alice, "dm-a"), ("alice", alice, "group"),
                                         ("bob", bob, "group"), ("bob", bob, "dm-b")):
            m = Message("test", conversation, user, f"{user} {i} {word}")
            assert await store.record_inbound(m)
            reply = await answer(store, m, f"echo {m.text}")
            await store.add_feedback(Feedback(reply.id, conversation, user, 1.0, channel="test"))
            await store.add_feedback(Feedback(reply.id, conversation, "carol", -1.0, channel="test"))
            await client.xadd(keys.outbound("ingress-1"), {"k": "chunk", "mid": m.id, "d": reply.text,
                                                          "m": codec.dump_message(m)})
            sent.append(m)
    assert await store.forget_user("alice", "test") == 6
    group = [t.text for t in await store.history("group", 100)]
    assert group and all(bob in t for t in group) and len(group) == 6  # Bob's 3 turns and their replies
    assert await store.history("dm-a", 10) == () and len(await store.history("dm-b", 10)) == 6
    votes = await store.feedback_for()  # Bob's and Carol's votes on Bob's 6 replies; none on Alice's
    assert len(votes) == 12 and {f.user_id for f in votes} == {"bob", "carol"}
    assert await store.forgotten(sent[0]) and not await store.forgotten(sent[2])  # Bob's
    later = Message("test", "dm-a", "alice", "hello again")
    assert not await store.forgotten(later)  # a fresh start, not a ban
    await answer(store, sent[0], f"late echo {alice}")  # a reply that was in flight during the forget
    assert await client.exists(keys.message(sent[0].id)) == 0 and await store.history("dm-a", 10) == ()
    await client.config_set("rdbcompression", "no")
    await client.save()
    dump = (Path((await client.config_get("dir"))["dir"]) / "dump.rdb").read_bytes()
    await store.close()
    assert bob.encode() in dump and alice.encode() not in dump
