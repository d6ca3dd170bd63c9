"""Acceptance: worker processes on a real redis-server.

Order across 4 worker processes (with partitions moving while messages flow), kill -9 of a
worker mid-message, and a Redis killed and restarted from its AOF.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import defaultdict

from interplay.core.scale.keys import GROUP, partition_of

from .conftest import scale_config, write_toml
from .harness import channel_of, scaled, wait_for


async def lease_owners(ingress) -> dict[int, str | None]:
    keys, client = ingress.store.keys, ingress.store.client
    return {p: await client.get(keys.lease(p)) for p in range(keys.partitions)}


async def wait_for_owners(ingress, names: set[str], timeout: float = 40.0) -> None:
    """Until every partition is leased and exactly these workers hold them."""

    async def spread() -> bool:
        owners = await lease_owners(ingress)
        return None not in owners.values() and set(owners.values()) == names

    await wait_for(spread, timeout, what=f"partitions leased by exactly {sorted(names)}")


async def talk(channel, conversation: str, count: int, gap: float = 0.02) -> list:
    """Send `count` messages without waiting for replies; return the reply futures in order."""
    futures = []
    for i in range(count):
        futures.append(await channel.submit(channel.message(f"{conversation} says {i}", conversation)))
        await asyncio.sleep(gap)
    return futures


def assert_in_order_exactly_once(channel, sent_texts: dict[str, list[str]]) -> None:
    delivered = defaultdict(list)
    for reply in channel.sent:
        delivered[reply.reply.conversation_id].append(reply.text)
    assert dict(delivered) == sent_texts
    ids = [r.reply.message_id for r in channel.sent]
    assert len(ids) == len(set(ids)), "a message was answered twice"


async def test_order_holds_across_four_worker_processes_while_partitions_move(
    redis_server, tmp_path, workers
):
    # lease_ttl above the event-loop stalls of processes starting up on 2 busy cores
    data = scale_config(redis_server.url, tmp_path, partitions=8, lease_ttl=3.0)
    data["plugins"] = {"echo": {"delay": 0.005}}
    procs = workers(data)
    procs.start("p0")
    procs.start("p1")
    async with scaled(data, workers=0) as (ingress, _):
        await wait_for_owners(ingress, {"p0", "p1"})
        channel, served = channel_of(ingress), ingress.bus.router.served_by
        conversations = [f"conv{c}" for c in range(12)]
        sent: dict[str, list[str]] = defaultdict(list)
        futures: list = []
        stop = asyncio.Event()

        async def chatter(conversation: str) -> None:
            while not stop.is_set():  # messages keep flowing while partitions move
                text = f"{conversation} says {len(sent[conversation])}"
                futures.append(await channel.submit(channel.message(text, conversation)))
                sent[conversation].append(text)
                await asyncio.sleep(0.2)

        chatting = [asyncio.create_task(chatter(c)) for c in conversations]
        procs.start("p2")  # two more join mid-run: partitions are handed over under traffic
        procs.start("p3")
        await wait_for(lambda: {"p2", "p3"} <= set(served.values()), 60, "the newcomers to answer")
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*chatting)
        await asyncio.wait_for(asyncio.gather(*futures), 90)
        assert "handed partition" in procs.log("p0") + procs.log("p1")  # a move really happened
        await wait_for_owners(ingress, {"p0", "p1", "p2", "p3"})
        for fs in await asyncio.gather(*(talk(channel, c, 3, gap=0) for c in conversations)):
            await asyncio.wait_for(asyncio.gather(*fs), 60)
        for c in conversations:
            sent[c] += [f"{c} says {i}" for i in range(3)]
        assert_in_order_exactly_once(channel, dict(sent))
        assert set(served.values()) == {"p0", "p1", "p2", "p3"}


async def _owner_and_stream(ingress, conversation: str) -> tuple[str, str]:
    keys = ingress.store.keys
    partition = partition_of(conversation, keys.partitions)
    return await ingress.store.client.get(keys.lease(partition)), keys.inbound(partition)


async def _pending_for(ingress, stream: str, consumer: str) -> int:
    info = await ingress.store.client.xpending_range(stream, GROUP, "-", "+", 10, consumername=consumer)
    return len(info)


async def test_kill_9_mid_message_is_answered_once_by_another_worker(redis_server, tmp_path, workers):
    data = scale_config(redis_server.url, tmp_path, partitions=4)
    data["plugins"] = {"echo": {"delay": 3.0}}  # three seconds before the (only) word: killed before it
    procs = workers(data)
    procs.start("p0")
    procs.start("p1")
    async with scaled(data, workers=0) as (ingress, _):
        await wait_for_owners(ingress, {"p0", "p1"})
        channel = channel_of(ingress)
        owner, stream = await _owner_and_stream(ingress, "victim")
        future = await channel.submit(channel.message("survive", "victim"))
        await wait_for(lambda: _pending_for(ingress, stream, owner), what="the owner to take the message")
        procs.kill9(owner)
        reply = await asyncio.wait_for(future, 30)
        survivor = ({"p0", "p1"} - {owner}).pop()
        assert reply.text == "survive"
        assert ingress.bus.router.served_by[reply.reply.message_id] == survivor
        await asyncio.sleep(2.0)  # time enough for any second answer to show up
        assert len(channel.sent) == 1
        assert [t.text for t in await ingress.store.history("victim", 10)] == ["survive"] * 2
        assert await ingress.store.client.xlen(stream) == 0  # acknowledged


async def test_kill_9_mid_reply_ends_the_reply_without_a_second_answer(redis_server, tmp_path, workers):
    data = scale_config(redis_server.url, tmp_path, partitions=4)
    data["plugins"] = {"echo": {"delay": 1.0}}
    procs = workers(data)
    procs.start("p0")
    procs.start("p1")
    async with scaled(data, workers=0) as (ingress, _):
        await wait_for_owners(ingress, {"p0", "p1"})
        channel = channel_of(ingress)
        owner, stream = await _owner_and_stream(ingress, "victim")
        message = channel.message("one two three four five", "victim")
        future = await channel.submit(message)
        router = ingress.bus.router
        await wait_for(lambda: message.id in router.live, timeout=10, what="the first chunk")
        procs.kill9(owner)  # the reply has begun: another worker must not start it again
        reply = await asyncio.wait_for(future, 30)
        assert reply.text.startswith("one") and reply.text.endswith(f"({data_fallback(ingress)})")
        assert "five" not in reply.text
        await asyncio.sleep(1.0)
        assert len(channel.sent) == 1
        assert await ingress.store.history("victim", 10) == ()
        assert await ingress.store.client.xlen(stream) == 0


def data_fallback(ingress) -> str:
    return ingress.config.bus.fallback_reply


async def test_redis_killed_and_restarted_from_its_aof_loses_nothing_acknowledged(
    own_redis, tmp_path, workers
):
    data = scale_config(own_redis.url, tmp_path, partitions=4)
    data["plugins"] = {"echo": {"delay": 0.05}}
    procs = workers(data)
    procs.start("p0")
    procs.start("p1")
    async with scaled(data, workers=0) as (ingress, _):
        await wait_for_owners(ingress, {"p0", "p1"})
        channel = channel_of(ingress)
        conversations = [f"conv{c}" for c in range(8)]
        futures = [
            f for fs in await asyncio.gather(*(talk(channel, c, 6, gap=0) for c in conversations)) for f in fs
        ]
        await wait_for(lambda: len(channel.sent) >= 10, timeout=30, what="some replies before the crash")
        own_redis.kill()  # SIGKILL: only what the AOF (fsync always) holds survives
        answered_before = [r.reply for r in channel.sent]
        await asyncio.sleep(1.0)
        own_redis.start()
        replies = await asyncio.wait_for(asyncio.gather(*futures), 60)
        fallback = data_fallback(ingress)
        for conversation in conversations:
            texts = [r.text for r in replies if r.reply.conversation_id == conversation]
            for i, text in enumerate(texts):  # in order, each answered or cut short by the crash
                assert text == f"{conversation} says {i}" or text.endswith(f"({fallback})"), texts
            # a conversation has one reply in flight at a time: the crash cuts at most that one short
            assert sum(t.endswith(f"({fallback})") for t in texts) <= 1, texts
        await asyncio.sleep(1.0)
        assert len(channel.sent) == len(futures) == 48  # every accepted message answered, once
        for reply in answered_before:  # replies stored before the crash are still there
            assert (await ingress.store.get_reply(reply.id)).text == reply.text


def test_the_command_line_runs_an_ingress_and_a_worker(redis_server, tmp_path, workers):
    """`interplay run` (ingress, by config) with the console channel, answered by `interplay worker`."""
    data = scale_config(redis_server.url, tmp_path, partitions=4)
    data["pipeline"] = {"channels": ["console"], "generator": "echo"}
    data["plugins"] = {"echo": {"prefix": "echo: "}}
    workers(data).start("cli-worker")
    config = write_toml(data, tmp_path / "ingress.toml")
    run = subprocess.run(
        [sys.executable, "-m", "interplay.core", "--config", str(config), "run"],
        input="hello there\nsecond line\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["echo: hello there", "echo: second line"]


async def test_sigterm_lets_a_worker_finish_its_reply_and_hand_over(redis_server, tmp_path, workers):
    data = scale_config(redis_server.url, tmp_path, partitions=4, lease_ttl=9.0)
    data["plugins"] = {"echo": {"delay": 0.5}}
    procs = workers(data)
    procs.start("p0")
    procs.start("p1")
    async with scaled(data, workers=0) as (ingress, _):
        await wait_for_owners(ingress, {"p0", "p1"})
        channel, served = channel_of(ingress), ingress.bus.router.served_by
        owner, stream = await _owner_and_stream(ingress, "calm")
        first = await channel.submit(channel.message("finish this please", "calm"))
        await wait_for(lambda: _pending_for(ingress, stream, owner), what="the owner to take the message")
        procs.procs[owner].terminate()  # SIGTERM: finish in-flight replies, then give partitions back
        reply = await asyncio.wait_for(first, 30)
        assert reply.text == "finish this please" and served[reply.reply.message_id] == owner
        assert procs.procs[owner].wait(30) == 0
        survivor = ({"p0", "p1"} - {owner}).pop()
        # handed back at once: taken at the survivor's next look (lease_ttl / 3 = 3 s), well before
        # the 9 s a lease left to expire would take
        second = await asyncio.wait_for(await channel.submit(channel.message("next", "calm")), 7.5)
        assert second.text == "next" and served[second.reply.message_id] == survivor
