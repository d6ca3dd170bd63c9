"""`RedisStore`: the conversation store in Redis, so that any worker can serve any conversation.

Layout (every key under `[redis] prefix`): a hash per message (its JSON and status), a string
per reply, a list of turns per conversation, dedupe keys with a TTL, one feedback list. Writes
that belong together go out in one MULTI transaction or Lua script, applied whole or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..messages import Feedback, Message, Reply, Turn
from ..privacy import person, tombstone, tombstones_of
from ..store.base import ConversationStore, Status
from . import codec, scripts
from .keys import GROUP, Keys, check_reachable, connect, redis_url, shown_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..config import InterplayConfig

KEEP_TURNS = 1000  # per conversation; history() never asks for more than [store] history_turns


class RedisStore(ConversationStore):
    """Conversations, dedupe keys, replies and feedback in Redis."""

    def __init__(self, client: Redis, keys: Keys, *, dedupe_ttl: int = 30 * 86400, url: str = "") -> None:
        self.client: Any = client  # Any: redis-py annotates replies as bytes | str even with decode_responses
        self.keys = keys
        self.dedupe_ttl = dedupe_ttl
        self.url = url
        self._accept = client.register_script(scripts.ACCEPT)
        self._record = client.register_script(scripts.RECORD)
        self._purge_stream = client.register_script(scripts.PURGE_STREAM)

    @classmethod
    def from_config(cls, config: InterplayConfig) -> RedisStore:
        """The store `[redis]` describes (the connection opens on first use)."""
        settings = config.redis
        keys = Keys(settings.prefix, settings.partitions)
        client = connect(config, decode_responses=True)
        return cls(client, keys, dedupe_ttl=settings.dedupe_ttl, url=redis_url(config))

    async def open(self) -> None:
        await check_reachable(self.client, self.url or "the configured Redis")

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()

    def __repr__(self) -> str:
        return f"RedisStore({shown_url(self.url)!r}, prefix={self.keys.prefix!r})"

    # -- messages ----------------------------------------------------------------------------
    async def seen(self, channel: str, key: str) -> bool:
        fresh = await self.client.set(self.keys.dedupe(channel, key), "1", nx=True, ex=self.dedupe_ttl)
        return not fresh

    async def accept(self, message: Message, *, enqueue: bool, reply_to: str = "", limits: Any = None) -> str:
        """Store a message (and with `enqueue`, append it to its partition): ok, dup, busy or full."""
        k = self.keys
        external = message.external_id is not None
        verdict = await self._accept(
            keys=[
                k.dedupe(message.channel, message.external_id or ""),
                k.message(message.id),
                k.received,
                k.user(message.user_id),
                k.pending,
                k.backlog,
                k.inbound_for(message.conversation_id),
                k.messages,
            ],
            args=[
                "1" if external else "0",
                codec.dump_message(message),
                message.id,
                message.time,
                message.conversation_id,
                limits.max_pending if limits else 0,
                limits.conversation_backlog if limits else 0,
                self.dedupe_ttl,
                reply_to,
                "1" if enqueue else "0",
                getattr(limits, "sender_backlog", 0) if limits else 0,
                scripts.SENDER + person(message.channel, message.user_id),
            ],
        )
        return str(verdict)

    async def record_inbound(self, message: Message) -> bool:
        return await self.accept(message, enqueue=False) != "dup"

    async def set_status(self, message_id: str, status: Status) -> None:
        async with self.client.pipeline(transaction=True) as tx:
            tx.hset(self.keys.message(message_id), "status", status.value)
            if status is not Status.RECEIVED:
                tx.zrem(self.keys.received, message_id)
            await tx.execute()

    async def status_of(self, message_id: str) -> tuple[str | None, str | None]:
        """A message's status and the id of its stored reply (None, None when unknown)."""
        status, reply_id = await self.client.hmget(self.keys.message(message_id), ["status", "reply"])
        return status, reply_id

    async def record_reply(self, message: Message, reply: Reply) -> None:
        keys, args = self.reply_writes(message, reply)
        await self._record(keys=keys, args=args)

    def reply_writes(self, message: Message, reply: Reply) -> tuple[list[str], list[str | int]]:
        """KEYS and ARGV of the Lua step that stores a reply (`store_reply` in scripts.py)."""
        k = self.keys
        user = codec.dump_turn(Turn("user", message.text, message.id, message.time, message.annotations))
        assistant = codec.dump_turn(Turn("assistant", reply.text, reply.id, reply.time))
        external = reply.external_id is not None
        keys = [
            k.message(message.id),
            k.received,
            k.reply(reply.id),
            k.turns(message.conversation_id),
            k.last_reply(message.conversation_id),
            k.reply_external(reply.channel, reply.external_id or ""),
        ]
        message_json, reply_json = codec.dump_message(message), codec.dump_reply(reply)
        args: list[str | int] = [message.id, message_json, reply.id, reply_json, user, assistant]
        return keys, [*args, KEEP_TURNS, "1" if external else "0"]

    async def attach_external_id(self, reply: Reply, external_id: str) -> Reply:
        """Record the id a channel gave a reply after the worker stored it; returns the updated reply."""
        from dataclasses import replace

        updated = replace(reply, external_id=external_id)
        async with self.client.pipeline(transaction=True) as tx:
            tx.set(self.keys.reply(reply.id), codec.dump_reply(updated), xx=True)
            tx.set(self.keys.reply_external(reply.channel, external_id), reply.id)
            await tx.execute()
        return updated

    async def pending(self) -> list[Message]:
        ids = await self.client.zrange(self.keys.received, 0, -1)
        messages = []
        for message_id in ids:
            data = await self.client.hget(self.keys.message(message_id), "data")
            if data is not None:
                messages.append(codec.load_message(data))
        return messages

    # -- history -----------------------------------------------------------------------------
    async def history(self, conversation_id: str, limit: int) -> tuple[Turn, ...]:
        if limit <= 0:
            return ()
        raw = await self.client.lrange(self.keys.turns(conversation_id), -limit, -1)
        return tuple(codec.load_turn(r) for r in raw)

    async def reset(self, conversation_id: str) -> None:
        # the turns list is only an index: messages and replies stay stored under their own keys
        await self.client.delete(self.keys.turns(conversation_id), self.keys.dialogue(conversation_id))

    # -- dialogue state ----------------------------------------------------------------------
    async def load_state(self, conversation_id: str, user_id: str, name: str) -> dict[str, Any] | None:
        raw = await self.client.hget(self.keys.dialogue(conversation_id), f"{user_id}\x1f{name}")
        return json.loads(raw) if raw else None

    async def save_state(
        self, conversation_id: str, user_id: str, name: str, state: Mapping[str, Any] | None
    ) -> None:
        key, field = self.keys.dialogue(conversation_id), f"{user_id}\x1f{name}"
        async with self.client.pipeline(transaction=True) as tx:
            if state is None:
                tx.hdel(key, field)
            else:
                tx.hset(key, field, json.dumps(dict(state)))
                tx.sadd(self.keys.dialogues_of(user_id), conversation_id)
            await tx.execute()

    # -- replies and feedback ----------------------------------------------------------------
    async def get_reply(self, reply_id: str) -> Reply | None:
        raw = await self.client.get(self.keys.reply(reply_id))
        return codec.load_reply(raw) if raw else None

    async def reply_by_external_id(self, channel: str, external_id: str) -> Reply | None:
        reply_id = await self.client.get(self.keys.reply_external(channel, external_id))
        return await self.get_reply(reply_id) if reply_id else None

    async def last_reply(self, conversation_id: str) -> Reply | None:
        reply_id = await self.client.get(self.keys.last_reply(conversation_id))
        return await self.get_reply(reply_id) if reply_id else None

    async def add_feedback(self, feedback: Feedback) -> None:
        await self.client.hset(self.keys.votes, _vote(feedback), codec.dump_feedback(feedback))

    async def _all_feedback(self) -> list[Feedback]:
        legacy = [codec.load_feedback(r) for r in await self.client.lrange(self.keys.feedback, 0, -1)]
        latest = {_vote(f): f for f in sorted(legacy, key=lambda f: f.time)}
        votes = await self.client.hgetall(self.keys.votes)
        latest.update((field, codec.load_feedback(raw)) for field, raw in votes.items())
        return list(latest.values())

    async def feedback_for(self, reply_ids: Iterable[str] | None = None) -> list[Feedback]:
        everything = await self._all_feedback()
        if reply_ids is None:
            return sorted(everything, key=lambda f: f.time)
        wanted = set(reply_ids)
        return sorted((f for f in everything if f.reply_id in wanted), key=lambda f: f.time)

    async def forget_user(self, user_id: str, channel: str | None = None) -> int:
        k = self.keys
        mine, replies = await self._messages_of(user_id, channel)
        grave = tombstone(person(channel, user_id))
        await self.client.hset(k.forgotten, grave, time.time())  # first: a worker racing this drops it
        doomed = [k.message(m) for m in mine] + [k.started(m) for m in mine] + [k.sent(m) for m in mine]
        doomed += [k.reply(r.id) for r in replies.values()]
        doomed += [k.reply_external(r.channel, r.external_id) for r in replies.values() if r.external_id]
        gone = set(mine) | set(replies)
        async with self.client.pipeline(transaction=True) as tx:
            if doomed:
                tx.delete(*doomed)
            if mine:
                tx.zrem(k.received, *mine)
                tx.zrem(k.messages, *mine)
                tx.srem(k.user(user_id), *mine)
            conversations = {c for c in mine.values() if c} | {r.conversation_id for r in replies.values()}
            for conversation in conversations:
                await self._drop_turns(tx, conversation, gone)
            await self._drop_votes(tx, user_id, channel, set(replies))
            await self._drop_dialogues(tx, user_id)
            await tx.execute()
        await self._purge_streams(set(mine))
        return len(mine)

    async def _messages_of(self, user_id: str, channel: str | None) -> tuple[dict[str, str], dict[str, Reply]]:  # noqa: E501
        """The user's messages (id -> conversation; on `channel` only, when given) and the replies to them."""
        mine: dict[str, str] = {}
        replies: dict[str, Reply] = {}
        for message_id in await self.client.smembers(self.keys.user(user_id)):
            data, reply_id = await self.client.hmget(self.keys.message(message_id), ["data", "reply"])
            message = codec.load_message(data) if data is not None else None
            if message is not None and channel is not None and message.channel != channel:
                continue
            mine[message_id] = message.conversation_id if message is not None else ""
            reply = await self.get_reply(reply_id) if reply_id else None
            if reply is not None:
                replies[reply.id] = reply
        return mine, replies

    async def _drop_turns(self, tx: Any, conversation: str, gone: set[str]) -> None:
        """Only the forgotten person's turns and the replies to them: a group chat keeps the rest."""
        k = self.keys
        for raw in await self.client.lrange(k.turns(conversation), 0, -1):
            if codec.load_turn(raw).id in gone:
                tx.lrem(k.turns(conversation), 0, raw)
        if await self.client.get(k.last_reply(conversation)) in gone:
            tx.delete(k.last_reply(conversation))

    async def _drop_votes(self, tx: Any, user_id: str, channel: str | None, replies: set[str]) -> None:
        k = self.keys

        def doomed(f: Feedback) -> bool:
            return f.reply_id in replies or (f.user_id == user_id and channel in (None, f.channel))

        for raw in await self.client.lrange(k.feedback, 0, -1):
            if doomed(codec.load_feedback(raw)):
                tx.lrem(k.feedback, 0, raw)
        votes = await self.client.hgetall(k.votes)
        votes = [v for v, raw in votes.items() if doomed(codec.load_feedback(raw))]
        if votes:
            tx.hdel(k.votes, *votes)

    async def _drop_dialogues(self, tx: Any, user_id: str) -> None:
        """What multi-turn skills waited for from this person (no channel is stored with it)."""
        k = self.keys
        for conversation in await self.client.smembers(k.dialogues_of(user_id)):
            names = await self.client.hkeys(k.dialogue(conversation))
            fields = [f for f in names if f.startswith(f"{user_id}\x1f")]
            if fields:
                tx.hdel(k.dialogue(conversation), *fields)
        tx.delete(k.dialogues_of(user_id))

    async def _purge_streams(self, mine: set[str]) -> None:
        """Reply events still in the outbound streams carry the message and reply text: delete them."""
        if not mine:
            return
        async for stream in self.client.scan_iter(match=self.keys.outbound("*"), _type="stream"):
            await self._purge_stream(keys=[stream], args=sorted(mine))

    async def forgotten(self, message: Message) -> bool:
        when = await self.client.hmget(self.keys.forgotten, list(tombstones_of(message)))
        return any(w is not None and message.time <= float(w) for w in when)

    # -- the learning loop ---------------------------------------------------------------------
    async def set_opt_out(self, user_id: str, opted_out: bool) -> None:
        if opted_out:
            await self.client.sadd(self.keys.opted_out, user_id)
        else:
            await self.client.srem(self.keys.opted_out, user_id)

    async def opted_out(self) -> set[str]:
        return set(await self.client.smembers(self.keys.opted_out))

    async def exchanges(self, since: float = 0.0) -> list[tuple[Message, Reply | None]]:
        ids = await self.client.zrangebyscore(self.keys.messages, f"({since}", "+inf")
        rows: list[tuple[Message, Reply | None]] = []
        for message_id in ids:
            data, reply_id = await self.client.hmget(self.keys.message(message_id), ["data", "reply"])
            if data is not None:
                reply = await self.get_reply(reply_id) if reply_id else None
                rows.append((codec.load_message(data), reply))
        return rows


class WorkerStore(RedisStore):
    """RedisStore as a worker's pipeline uses it: the writes that end a message go with its ack.

    A worker stores a reply, announces it and acknowledges its stream entry in one Lua step
    (`scripts.FINISH`), so `record_reply` only holds the reply until that step (a worker that
    dies before it leaves nothing stored, and the entry pending). A reply's first chunk marks
    its message `replying` (`scripts.EMIT`), so `set_status(REPLYING)` needs no command of its
    own; and the history (and tombstone check) the worker fetched along with its first look at
    a message is used instead of a second round trip.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.unsaved: dict[str, tuple[Message, Reply]] = {}  # message id -> reply, until FINISH
        self.prefetched: dict[str, tuple[int, list[str]]] = {}  # conversation -> (limit, raw turns)
        self.not_forgotten: set[str] = set()  # message ids the worker's first look found not forgotten

    async def record_reply(self, message: Message, reply: Reply) -> None:
        self.unsaved[message.id] = (message, reply)

    async def save(self, message: Message, reply: Reply) -> None:
        """Store a reply now (what RedisStore.record_reply does)."""
        await super().record_reply(message, reply)

    async def set_status(self, message_id: str, status: Status) -> None:
        if status is not Status.REPLYING:
            await super().set_status(message_id, status)

    async def forgotten(self, message: Message) -> bool:
        if message.id in self.not_forgotten:
            self.not_forgotten.discard(message.id)
            return False
        return await super().forgotten(message)

    async def history(self, conversation_id: str, limit: int) -> tuple[Turn, ...]:
        fetched = self.prefetched.pop(conversation_id, None)
        if fetched is None or fetched[0] != limit:
            return await super().history(conversation_id, limit)
        return tuple(codec.load_turn(r) for r in fetched[1])


def _vote(feedback: Feedback) -> str:
    return "\t".join((feedback.reply_id, feedback.user_id, feedback.kind))


async def ensure_groups(client: Any, keys: Keys) -> None:
    """Check that every process agrees on the partitions, then create the consumer groups."""
    from redis.exceptions import ResponseError

    await client.set(keys.layout, str(keys.partitions), nx=True)
    recorded = int(await client.get(keys.layout))
    if recorded != keys.partitions:  # a conversation would hash to a stream nobody reads
        raise ConfigError(
            f"[redis] partitions is {keys.partitions} here but {recorded} in Redis (prefix "
            f"{keys.prefix!r}): use the same value in every process, or a new [redis] prefix"
        )
    for partition in range(keys.partitions):
        try:
            await client.xgroup_create(keys.inbound(partition), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
