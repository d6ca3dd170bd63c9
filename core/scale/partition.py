"""One inbound partition owned by this worker: read its stream, run its conversations in order.

Only the process holding a partition's lease reads it, and inside the process each
conversation has one task that handles its messages one after another, so a conversation's
messages are answered in the order the ingress appended them, whichever worker holds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .codec import load_message
from .keys import GROUP, stop_if_cancelled, stop_task

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("interplay.scale.partition")
Entry = tuple[str, dict[str, str]]  # stream entry id, fields
Handler = Callable[[int, str, dict[str, str]], Awaitable[None]]
READ_BLOCK_MS = 1000  # short, so that a stop or a lost lease is noticed within a second
RETRY_SECONDS = 1.0


class Partition:
    """Reads one partition's stream and keeps one in-order task per conversation."""

    def __init__(
        self,
        number: int,
        stream: str,
        client: Redis,
        consumer: str,
        handler: Handler,
        capacity: asyncio.Semaphore,
    ) -> None:
        self.number = number
        self.stream = stream
        self.client: Any = client  # Any: redis-py annotates replies as bytes | str even with decode_responses
        self.consumer = consumer
        self.handler = handler
        self.capacity = capacity
        self.queues: dict[str, deque[Entry]] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.releasing = False
        self._broken: BaseException | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.create_task(self._run(), name=f"partition-{self.number}")

    async def _run(self) -> None:
        from redis.exceptions import RedisError

        while not self.releasing:  # a flag as well as cancel(): redis-py may swallow a cancellation
            try:
                await self._reclaim()
                while not self.releasing:
                    await self._read()
            except (RedisError, OSError) as exc:
                stop_if_cancelled()
                log.warning("partition %d: %s; retrying in %.0fs", self.number, exc, RETRY_SECONDS)
            except Exception:  # a bug: keep the traceback, and keep the partition served
                log.exception(
                    "partition %d: unexpected failure; retrying in %.0fs", self.number, RETRY_SECONDS
                )
            await self._reset()
            await asyncio.sleep(RETRY_SECONDS)

    async def _reclaim(self) -> None:
        """Take over every pending entry (ours or a crashed owner's) before reading new ones."""
        cursor = "0-0"
        while True:
            cursor, entries, deleted = await self.client.xautoclaim(
                self.stream, GROUP, self.consumer, min_idle_time=0, start_id=cursor, count=100
            )
            if deleted:
                await self.client.xack(self.stream, GROUP, *deleted)
            if entries:
                log.info("partition %d: reclaimed %d pending message(s)", self.number, len(entries))
            for entry_id, fields in entries:
                await self._dispatch(entry_id, fields)
            if cursor in ("0-0", b"0-0"):
                return

    async def _read(self) -> None:
        if self._broken is not None:
            raise self._broken
        response = await self.client.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=32, block=READ_BLOCK_MS
        )
        for _, entries in response or ():
            for entry_id, fields in entries:
                await self._dispatch(entry_id, fields)

    async def _dispatch(self, entry_id: str, fields: dict[str, Any]) -> None:
        try:
            conversation = load_message(fields["m"]).conversation_id
        except (KeyError, TypeError, ValueError):
            log.error("partition %d: dropping unreadable entry %s: %r", self.number, entry_id, fields)
            await self.client.xack(self.stream, GROUP, entry_id)  # retrying would never succeed
            await self.client.xdel(self.stream, entry_id)
            return
        await self.capacity.acquire()
        queue = self.queues.get(conversation)
        if queue is None:
            queue = self.queues[conversation] = deque()
            self.tasks[conversation] = asyncio.create_task(self._conversation(conversation, queue))
        queue.append((entry_id, fields))

    async def _conversation(self, conversation: str, queue: deque[Entry]) -> None:
        try:
            while queue:
                entry_id, fields = queue[0]
                try:
                    await self.handler(self.number, entry_id, fields)
                except Exception as exc:  # Redis trouble: the entry stays pending and is reclaimed
                    self._broken = exc
                    return
                queue.popleft()
                self.capacity.release()
        finally:
            if not queue and self.queues.get(conversation) is queue:  # leftovers: _reset releases them
                del self.queues[conversation]
                del self.tasks[conversation]

    async def _reset(self) -> None:
        """Drop everything in flight; the entries stay pending in Redis for the next reclaim."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for queue in self.queues.values():
            for _ in queue:
                self.capacity.release()
        self.queues.clear()
        self.tasks.clear()
        self._broken = None

    async def stop(self, deadline: float) -> bool:
        """Stop reading; let in-flight conversations finish within `deadline` s; True if all did."""
        self.releasing = True
        await stop_task(self._reader, f"partition {self.number}'s reader")
        tasks = list(self.tasks.values())
        done = True
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=deadline)
            done = not still
        await self._reset()
        return done

    async def abandon(self) -> None:
        """Lost the lease: stop at once (another worker reclaims and finishes the entries)."""
        self.releasing = True
        await stop_task(self._reader, f"partition {self.number}'s reader")
        await self._reset()
