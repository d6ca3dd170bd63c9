"""The Redis bus in one process: streaming, storing, dedupe, backpressure, at-most-once repeats."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from interplay.core import Reply, Submitted
from interplay.core.scale import codec
from interplay.core.scale.keys import GROUP, partition_of

from .conftest import scale_config
from .harness import channel_of, scaled, wait_for


async def test_a_reply_streams_back_in_chunks_and_is_stored_in_redis(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    data["plugins"] = {"echo": {"delay": 0.05}}  # a word every 50 ms, as a model would stream them
    async with scaled(data, workers=1) as (ingress, (worker,)):
        reply = await channel_of(ingress).say("hello from the ingress", conversation="c1")
        assert reply.text == "hello from the ingress"
        assert reply.deltas == ["hello", " from", " the", " ingress"]  # one event per delta, in order
        assert reply.source == "generator:echo" and reply.model_version == "echo-1"
        stored = await worker.store.get_reply(reply.reply.id)  # the worker stored it, in Redis
        assert stored is not None and stored.text == "hello from the ingress"
        assert [t.role for t in await ingress.store.history("c1", 10)] == ["user", "assistant"]
        assert ingress.bus.router.served_by[reply.reply.message_id] == "w0"
        client = ingress.store.client
        stream = ingress.store.keys.inbound_for("c1")
        # acknowledged (just after the reply went out) and deleted, so the stream stays short
        await wait_for(lambda: _xlen_is_zero(client, stream), what="the entry to be acknowledged")
        assert await client.get(ingress.store.keys.pending) == "0"


async def test_deltas_faster_than_a_round_trip_travel_together(redis_server, tmp_path):
    async with scaled(scale_config(redis_server.url, tmp_path)) as (ingress, _):
        text = " ".join(f"w{i}" for i in range(40))
        reply = await channel_of(ingress).say(text)
        assert reply.text == text and 1 < len(reply.deltas) < 40


async def test_a_redelivered_message_is_ignored(redis_server, tmp_path):
    async with scaled(scale_config(redis_server.url, tmp_path)) as (ingress, _):
        channel = channel_of(ingress)
        first = await channel.say("once", external_id="upd-1")
        again = await channel.submit(channel.message("once", external_id="upd-1"))
        assert first.text == "once" and (await again).source == "duplicate"
        assert len(channel.sent) == 1


async def test_history_and_commands_work_across_the_bus(redis_server, tmp_path):
    async with scaled(scale_config(redis_server.url, tmp_path), workers=2) as (ingress, _):
        channel = channel_of(ingress)
        await channel.say("first")
        assert (await channel.say("/good")).text.startswith("Thanks")
        feedback = await ingress.store.feedback_for()
        assert [f.score for f in feedback] == [1.0]
        await channel.say("/reset")
        assert await ingress.store.history("c1", 10) == ()


async def test_a_full_conversation_backlog_gets_the_busy_reply(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    data["bus"] |= {"conversation_backlog": 2, "busy_reply": "busy, wait"}
    data["plugins"] = {"echo": {"delay": 0.2}}
    async with scaled(data) as (ingress, _):
        channel = channel_of(ingress)
        futures = [await channel.submit(channel.message(f"m{i}")) for i in range(4)]
        replies = [await asyncio.wait_for(f, 10) for f in futures]
        assert [r.text for r in replies] == ["m0", "m1", "busy, wait", "busy, wait"]
        assert [r.source for r in replies[2:]] == ["busy", "busy"]
        assert (await channel.say("m4")).text == "m4"  # the backlog drained: accepted again


async def test_a_full_bus_answers_busy_instead_of_growing(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    data["bus"] |= {"max_pending": 3, "busy_reply": "overloaded"}
    async with scaled(data, workers=0) as (ingress, _):  # nobody works: the bus fills up
        channel = channel_of(ingress)
        submit = ingress.bus.submit
        outcomes = [await submit(channel.message("x", conversation=f"c{i}")) for i in range(5)]
        assert outcomes == [Submitted.ACCEPTED] * 3 + [Submitted.BUSY] * 2
        await wait_for(lambda: len(channel.sent) == 2, what="two busy replies")
        assert {r.text for r in channel.sent} == {"overloaded"}
        keys = ingress.store.keys
        lengths = [await ingress.store.client.xlen(keys.inbound(p)) for p in range(keys.partitions)]
        assert sum(lengths) == 3  # the streams hold only what was accepted


async def test_one_sender_cannot_fill_the_redis_bus_and_starve_everyone_else(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    data["bus"] |= {"max_pending": 8, "sender_backlog": 3, "busy_reply": "wait"}
    data["limits"] = {"messages_per_minute": 0}  # the queue cap alone, not the rate limit
    async with scaled(data, workers=0) as (ingress, _):  # nobody works: whatever is queued stays
        channel = channel_of(ingress)
        submit = ingress.bus.submit
        flood = [await submit(channel.message("flood", f"t{i}", user="flooder")) for i in range(20)]
        others = [await submit(channel.message("hi", f"o{i}", user=f"u{i}")) for i in range(5)]
        assert flood == [Submitted.ACCEPTED] * 3 + [Submitted.BUSY] * 17
        assert others == [Submitted.ACCEPTED] * 5  # room was left for everyone else
        sender = "sender\x1ffake:flooder"
        assert await ingress.store.client.hget(ingress.store.keys.backlog, sender) == "3"
    async with scaled(data, workers=1) as (ingress, _):  # answered and acknowledged: the count goes down
        await wait_for(lambda: len(channel_of(ingress).sent) >= 8, what="the queued messages answered")
        client, keys = ingress.store.client, ingress.store.keys
        await wait_for(lambda: _no_backlog(client, keys.backlog), what="the backlog counted down")
        channel = channel_of(ingress)
        assert (await channel.say("again", conversation="t99", user="flooder")).text == "again"


async def _no_backlog(client, key: str) -> bool:
    return not await client.hgetall(key)


async def _pending_entry(ingress, text: str, conversation: str = "c9"):
    """Accept a message with no worker running; return it with its stream entry, claimed by 'ghost'."""
    channel = channel_of(ingress)
    message = channel.message(text, conversation)
    future = await channel.submit(message)
    keys, client = ingress.store.keys, ingress.store.client
    stream = keys.inbound(partition_of(conversation, keys.partitions))
    [[_, [(entry_id, fields)]]] = await client.xreadgroup(GROUP, "ghost", {stream: ">"}, count=1)
    return message, future, entry_id, fields


async def test_a_stored_but_unacknowledged_reply_is_repeated_not_regenerated(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    async with scaled(data, workers=0) as (ingress, _):
        message, future, entry_id, _ = await _pending_entry(ingress, "asked once")
        # what a worker that crashed between storing the reply and acknowledging it leaves behind
        reply = Reply(message.id, "c9", "fake", "asked once", "generator:echo")
        await ingress.store.record_reply(message, reply)
        end = {"k": "end", "mid": message.id, "m": codec.dump_message(message), "r": codec.dump_reply(reply)}
        await ingress.store.client.xadd(ingress.store.keys.outbound("ingress"), end)
        assert (await asyncio.wait_for(future, 10)).text == "asked once"
        async with scaled(data, workers=1, ingress=False):  # takes the partition over from "ghost"
            await wait_for(lambda: _acknowledged(ingress, entry_id), what="the entry to be acknowledged")
            await asyncio.sleep(0.3)
        assert len(channel_of(ingress).sent) == 1  # repeated by the worker, not handed out twice
        assert len(await ingress.store.history("c9", 10)) == 2  # stored once, not generated again


async def test_a_reply_begun_by_a_lost_attempt_is_ended_not_answered_again(redis_server, tmp_path):
    data = scale_config(redis_server.url, tmp_path)
    async with scaled(data, workers=0) as (ingress, _):
        message, future, entry_id, _ = await _pending_entry(ingress, "half answered")
        keys, client = ingress.store.keys, ingress.store.client
        # what a worker that crashed after its first chunk went out leaves behind
        await client.set(keys.started(message.id), "ghost:attempt")
        first = {"k": "chunk", "mid": message.id, "d": "half", "m": codec.dump_message(message)}
        first |= {"rid": "r1", "src": "generator:echo", "mv": "echo-1"}
        await client.xadd(keys.outbound("ingress"), first)
        await wait_for(lambda: message.id in ingress.bus.router.live, what="the live reply")
        async with scaled(data, workers=1, ingress=False):
            reply = await asyncio.wait_for(future, 10)
        assert reply.text.startswith("half … (") and reply.source == "generator:echo"
        assert len(channel_of(ingress).sent) == 1
        assert await ingress.store.history("c9", 10) == ()  # the generator did not run again
        assert await _acknowledged(ingress, entry_id)


async def _xlen_is_zero(client, stream: str) -> bool:
    return await client.xlen(stream) == 0


async def _acknowledged(ingress, entry_id: str) -> bool:
    keys, client = ingress.store.keys, ingress.store.client
    stream = keys.inbound(partition_of("c9", keys.partitions))
    return not await client.xrange(stream, entry_id, entry_id)


async def test_processes_that_disagree_on_partitions_refuse_to_start(redis_server, tmp_path):
    from interplay.core import ConfigError

    async with scaled(scale_config(redis_server.url, tmp_path, partitions=8), workers=1):
        with pytest.raises(ConfigError, match=r"\[redis\] partitions is 4 here but 8 in Redis"):
            async with scaled(
                scale_config(redis_server.url, tmp_path, partitions=4), workers=1, ingress=False
            ):
                pass


async def test_an_unreadable_entry_is_dropped_and_the_partition_goes_on(redis_server, tmp_path):
    async with scaled(scale_config(redis_server.url, tmp_path)) as (ingress, _):
        keys = ingress.store.keys
        stream = keys.inbound(partition_of("c1", keys.partitions))
        await ingress.store.client.xadd(stream, {"m": "{not json", "to": "x"})
        assert (await channel_of(ingress).say("still answered", conversation="c1")).text == "still answered"
        await wait_for(lambda: _xlen_is_zero(ingress.store.client, stream), what="both entries to go")


def _count_commands(client) -> Counter:
    """Count what `client` sends while a message is being handled (pipelines count once)."""
    from interplay.core.logs import message_id

    seen: Counter = Counter()
    send, pipeline = client.execute_command, client.pipeline

    async def counted_send(*args, **kw):
        if message_id.get() != "-":
            seen[str(args[0])] += 1
        return await send(*args, **kw)

    def counted_pipeline(*args, **kw):
        if message_id.get() != "-":
            seen["pipeline"] += 1
        return pipeline(*args, **kw)

    client.execute_command, client.pipeline = counted_send, counted_pipeline
    return seen


async def test_a_reply_costs_three_round_trips_in_the_worker(redis_server, tmp_path):
    """One look (status, attempt marker, history), one per chunk, one to store + announce + ack."""
    async with scaled(scale_config(redis_server.url, tmp_path)) as (ingress, (worker,)):
        channel = channel_of(ingress)
        await channel.say("warm")  # scripts loaded, connections open
        seen = _count_commands(worker.store.client)
        for i in range(5):
            assert (await channel.say(f"hello{i}")).text == f"hello{i}"  # one word: one chunk
        await wait_for(lambda: worker.bus.processed == 6, what="the last acknowledgement")
        assert seen == {"EVALSHA": 15}  # LOOK, EMIT, FINISH
        keys, client = ingress.store.keys, ingress.store.client
        assert await client.zcard(keys.received) == 0  # each message left `received`...
        statuses = [await client.hget(keys.message(r.reply.message_id), "status") for r in channel.sent]
        assert statuses == ["done"] * 6  # ...and ended `done`
        assert [t.text for t in await ingress.store.history("c1", 4)] == ["hello3"] * 2 + ["hello4"] * 2


async def test_replies_read_again_after_an_ingress_restart_are_not_sent_twice(redis_server, tmp_path):
    """The read position is saved lazily: what a restarted ingress reads again, the claims drop."""
    from redis.asyncio import Redis

    data = scale_config(redis_server.url, tmp_path)
    async with scaled(data) as (ingress, _):
        for i in range(3):
            assert (await channel_of(ingress).say(f"m{i}")).text == f"m{i}"
        stream = ingress.bus.router.stream
    client = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        [(last, _)] = await client.xrevrange(stream, count=1)
        await client.delete(stream + ":pos")  # as if it had crashed before saving its position
        async with scaled(data, workers=0) as (again, _):
            await wait_for(lambda: _position_is(client, stream, last), what="the events to be read again")
            await asyncio.sleep(0.2)
            assert channel_of(again).sent == []
    finally:
        await client.aclose()


async def _position_is(client, stream: str, entry_id: str) -> bool:
    return await client.get(stream + ":pos") == entry_id


async def test_a_claim_whose_reply_was_lost_still_hands_the_reply_out(redis_server, tmp_path):
    """redis-py re-sends a command whose reply a lost connection swallowed: the ingress's own claim
    must not read as someone else's (the reply would never reach the channel)."""
    async with scaled(scale_config(redis_server.url, tmp_path), workers=0) as (ingress, _):
        message, future, _, _ = await _pending_entry(ingress, "claimed once")
        keys, client, router = ingress.store.keys, ingress.store.client, ingress.bus.router
        reply = Reply(message.id, "c9", "fake", "claimed once", "generator:echo")
        end = {"k": "end", "mid": message.id, "m": codec.dump_message(message), "r": codec.dump_reply(reply)}
        entry_id = await client.xadd(keys.outbound("ingress") + ":ids", end)  # the id the event will get
        # the claim of that event went through, and its reply was lost: the ingress handles it again
        await client.set(keys.sent(message.id), f"{router.claimant}:{entry_id}")
        await client.xadd(keys.outbound("ingress"), end, id=entry_id)
        assert (await asyncio.wait_for(future, 10)).text == "claimed once"
        await client.xadd(keys.outbound("ingress"), end)  # a worker's repeat: another event
        await asyncio.sleep(0.3)
        assert len(channel_of(ingress).sent) == 1
