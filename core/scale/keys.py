"""Redis key names, partitioning and connections for the scaled-out bus and store.

Every key starts with `[redis] prefix`, so several bots can share one Redis. One inbound
stream per partition; a conversation always lands in the same partition (a stable hash of
its id), which is what keeps its messages in order across worker processes.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING, Any

from ..config import InterplayConfig, resolve_secret
from ..errors import Unavailable
from ..extras import requires_extra

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
GROUP = "workers"  # the consumer group on every inbound stream


class RedisUnavailable(Unavailable):
    """Redis cannot be reached or refused a command."""


def partition_of(conversation_id: str, partitions: int) -> int:
    """The partition a conversation belongs to; stable across processes and restarts."""
    return zlib.crc32(conversation_id.encode()) % partitions  # not hash(): it is salted per process


class Keys:
    """Names of every key the scaled-out bus and the Redis store use."""

    def __init__(self, prefix: str, partitions: int) -> None:
        self.prefix = prefix
        self.partitions = partitions

    def inbound(self, partition: int) -> str:
        return f"{self.prefix}:in:{partition}"

    def inbound_for(self, conversation_id: str) -> str:
        return self.inbound(partition_of(conversation_id, self.partitions))

    def outbound(self, ingress: str) -> str:
        return f"{self.prefix}:out:{ingress}"

    def lease(self, partition: int) -> str:
        return f"{self.prefix}:lease:{partition}"

    @property
    def layout(self) -> str:
        return f"{self.prefix}:partitions"  # the partition count every process must agree on

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"  # sorted set: worker name -> last heartbeat

    @property
    def pending(self) -> str:
        return f"{self.prefix}:pending"  # messages accepted and not yet acknowledged

    @property
    def backlog(self) -> str:
        return f"{self.prefix}:backlog"  # hash: conversation -> messages not yet acknowledged

    def started(self, message_id: str) -> str:
        return f"{self.prefix}:started:{message_id}"  # which attempt began sending a reply

    def sent(self, message_id: str) -> str:
        return f"{self.prefix}:sent:{message_id}"  # an ingress began handing the reply to a channel

    # -- the store ----------------------------------------------------------------------------
    def dedupe(self, channel: str, key: str) -> str:
        return f"{self.prefix}:dedupe:{channel}:{key}"

    def message(self, message_id: str) -> str:
        return f"{self.prefix}:msg:{message_id}"  # hash: data, status

    @property
    def messages(self) -> str:
        return f"{self.prefix}:messages"  # sorted set of every message id by time (for exports)

    @property
    def opted_out(self) -> str:
        return f"{self.prefix}:opted-out"

    @property
    def received(self) -> str:
        return f"{self.prefix}:received"  # sorted set of RECEIVED message ids by time

    def turns(self, conversation_id: str) -> str:
        return f"{self.prefix}:turns:{conversation_id}"

    def reply(self, reply_id: str) -> str:
        return f"{self.prefix}:reply:{reply_id}"

    def reply_external(self, channel: str, external_id: str) -> str:
        return f"{self.prefix}:reply-ext:{channel}:{external_id}"

    def last_reply(self, conversation_id: str) -> str:
        return f"{self.prefix}:last-reply:{conversation_id}"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}:feedback"  # list: feedback stored before votes (read, never written)

    @property
    def votes(self) -> str:
        return f"{self.prefix}:votes"  # hash: reply, user and kind -> feedback (one vote each)

    @property
    def forgotten(self) -> str:
        return f"{self.prefix}:forgotten"  # hash: tombstone (a hash of channel:user) -> when forgotten

    def user(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}"  # set of message ids, for forget_user

    def dialogue(self, conversation_id: str) -> str:
        return f"{self.prefix}:dialogue:{conversation_id}"  # hash "<user>\x1f<skill>" -> state JSON

    def dialogues_of(self, user_id: str) -> str:
        return f"{self.prefix}:dialogues-of:{user_id}"  # set of conversations, for forget_user


def redis_url(config: InterplayConfig) -> str:
    """`[redis] url` resolved: empty means the local default, otherwise a secret reference."""
    ref = config.redis.url
    return resolve_secret(ref, "[redis] url") if ref else DEFAULT_URL


def shown_url(url: str) -> str:
    """The URL without a password, fit for logs and error messages."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("redis", url)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def connect(config: InterplayConfig, **kw: Any) -> Redis:
    """A redis-py asyncio client with timeouts on every command (not yet connected)."""
    with requires_extra("redis", "a Redis bus or store"):
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import ConnectionError as LostConnection
        from redis.exceptions import TimeoutError as CommandTimeout
    timeout = config.redis.timeout
    return Redis.from_url(
        redis_url(config),
        socket_timeout=kw.pop("socket_timeout", timeout),
        socket_connect_timeout=timeout,
        health_check_interval=1,  # a connection idle that long is checked first: Redis may have restarted
        # a pooled connection from before a Redis restart fails once: retry on a fresh one (every
        # step is safe to repeat: scripts detect re-runs, reply chunks carry sequence numbers)
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        retry_on_error=[LostConnection, CommandTimeout],
        **kw,
    )


async def check_reachable(client: Redis, url: str) -> None:
    """Raise RedisUnavailable with what to do when Redis does not answer a PING."""
    from redis.exceptions import RedisError

    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise RedisUnavailable(
            f"cannot reach Redis at {shown_url(url)} ({exc}): start redis-server or set [redis] url"
        ) from None


def stop_if_cancelled() -> None:
    """Re-raise a cancellation that a library turned into a connection error on its way out.

    Retry loops catch Redis errors; without this check a loop cancelled mid-command could
    take the cancellation for a network failure and run on, and its owner would wait forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_task(task: asyncio.Task[Any] | None, what: str, grace: float = 5.0) -> None:
    """Cancel a loop task and wait a bounded time for it (its loop also checks a stop flag)."""
    if task is None or task.done():
        return
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=grace)
    if not done:
        import logging

        logging.getLogger("interplay.scale").warning("%s did not stop within %.0fs", what, grace)
