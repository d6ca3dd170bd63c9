"""`interplay worker`: consumer-group workers that run analyzers, skills and the generator.

A worker holds leases on some partitions (see leases.py), reads their streams and runs the
ordinary `Pipeline` on each message. A stream entry is acknowledged only after its reply is
stored in Redis, so a crash at any point leaves the entry pending for the next owner, which
answers it unless an earlier attempt had already begun sending a reply (at most once out).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING

from ..config import InterplayConfig
from ..contracts import Submitted
from ..errors import BusClosed
from ..logs import message_context
from ..messages import Feedback, Message, Reply
from ..privacy import tombstones_of
from ..store.base import Status
from . import codec, scripts
from .keys import GROUP, stop_task
from .leases import Leases
from .outbound import Attempt, Outbound, RemoteChannels
from .partition import Partition
from .store import WorkerStore, ensure_groups

if TYPE_CHECKING:
    from ..pipeline import Pipeline

log = logging.getLogger("interplay.scale.worker")


def process_name() -> str:
    """A name unique to this process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """The `BusBackend` of a worker process: owns partitions, answers their messages.

    Its pipeline sends through `channels`, which put replies on the ingresses' outbound streams.
    """

    def __init__(self, config: InterplayConfig, store: WorkerStore, name: str) -> None:
        settings = config.redis
        self.config = config
        self.store = store
        self.client = store.client
        self.keys = store.keys
        self.name = name
        self._pipeline: Pipeline | None = None
        self._closed = False
        self.outbound = Outbound(self.client, self.keys, name, settings.outbound_maxlen)
        self.channels = RemoteChannels(self.outbound)
        self.capacity = asyncio.Semaphore(settings.worker_concurrency)
        deadline = config.bus.generation_timeout
        self.leases = Leases(self.client, self.keys, name, settings.lease_ttl, self._partition, deadline)
        self._look = self.client.register_script(scripts.LOOK)
        self._ack = self.client.register_script(scripts.ACK)
        self._finish_step = self.client.register_script(scripts.FINISH)
        self._leases_task: asyncio.Task[None] | None = None
        self._tries = 0
        self.processed = 0  # admission limits apply at the ingress, where messages arrive

    @property
    def pending(self) -> int:
        return sum(len(q) for p in self.leases.owned.values() for q in p.queues.values())

    @property
    def conversations(self) -> int:
        return sum(len(p.queues) for p in self.leases.owned.values())

    def _partition(self, number: int) -> Partition:
        stream = self.keys.inbound(number)
        return Partition(number, stream, self.client, self.name, self.handle, self.capacity)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the worker has not been started: await worker.start(pipeline) first")
        return self._pipeline

    async def submit(self, message: Message) -> Submitted:
        raise BusClosed("a worker takes messages from the Redis streams, not from channels")

    async def feedback(self, feedback: Feedback) -> None:
        await self.store.add_feedback(feedback)

    async def start(self, pipeline: Pipeline) -> None:
        """Join the worker pool; partitions taken over are reclaimed before anything new is read."""
        self._pipeline = pipeline
        await ensure_groups(self.client, self.keys)
        await self.leases.tick()
        self._leases_task = asyncio.create_task(self.leases.run(), name="leases")
        log.info("worker %s serving partitions %s", self.name, sorted(self.leases.owned))

    async def handle(self, partition: int, entry_id: str, fields: dict[str, str]) -> None:
        """Answer one stream entry (once), then acknowledge it. Redis errors propagate: no ack."""
        from redis.exceptions import RedisError

        message = codec.load_message(fields["m"])
        with message_context(message.id, message.conversation_id):
            try:
                await self._answer_once(message, entry_id, fields.get("to", ""))
            except (RedisError, OSError):
                raise  # what this attempt produced is dropped (below): the entry stays pending
            except Exception:  # a bug: keep the traceback, and do not retry it forever
                log.exception("unexpected failure while handling a message")
            finally:
                unsaved = self.store.unsaved.pop(message.id, None)
                end = self.outbound.ends.pop(message.id, None)
            await self._finish(partition, entry_id, message, unsaved, end)
            self.processed += 1

    async def _finish(
        self,
        partition: int,
        entry_id: str,
        message: Message,
        unsaved: tuple[Message, Reply] | None,
        end: tuple[Attempt, dict[str, str]] | None,
    ) -> None:
        """Store the reply, announce it and acknowledge the entry: usually one Lua step."""
        k = self.keys
        ack_keys = [k.inbound(partition), k.pending, k.backlog, k.started(message.id)]
        ack_args = [GROUP, entry_id, message.conversation_id]
        if unsaved is not None and end is not None:  # a reply was generated: one round trip
            (attempt, fields), (record_keys, record_args) = end, self.store.reply_writes(*unsaved)
            announced = await self._finish_step(
                keys=[*ack_keys, *record_keys, attempt.reply_to],
                args=[*ack_args, *record_args, attempt.token, self.outbound.maxlen, *_flat(fields)],
            )
            if not announced:
                log.warning("stored a reply that another attempt is ending: not announced")
            return
        if unsaved is not None:  # stored by the pipeline, never announced (a failure in between)
            await self.store.save(*unsaved)
        if end is not None and not await self.outbound.append(message, *end):  # command output
            log.warning("another attempt is ending this reply: not announced")
        await self._ack(keys=ack_keys, args=ack_args)

    async def _answer_once(self, message: Message, entry_id: str, reply_to: str) -> None:
        k, limit = self.keys, max(self.pipeline.history_turns, 0)
        keys = [k.message(message.id), k.started(message.id), k.turns(message.conversation_id), k.forgotten]
        args = [limit, repr(message.time), *tombstones_of(message)]
        status, reply_id, started, turns, forgotten = await self._look(keys=keys, args=args)
        if forgotten:  # its sender asked to be forgotten after sending it: acknowledged, never answered
            log.info("message dropped: its sender was forgotten")
            return
        self.store.not_forgotten.add(message.id)  # the pipeline asks again: answered from this look
        if status == Status.DONE and reply_id:  # stored, not acknowledged: say it again, the ingress dedupes
            reply = await self.store.get_reply(reply_id)
            if reply is not None:
                await self.outbound.resend_stored(message, reply, reply_to)
                return
        if started:
            log.warning("an earlier attempt began this reply and stopped: ending it, not answering twice")
            await self.store.set_status(message.id, Status.FAILED)
            await self.outbound.abort(message, reply_to)
            return
        self._tries += 1
        self.outbound.attempts[message.id] = Attempt(f"{self.name}:{entry_id}:{self._tries}", reply_to)
        self.store.prefetched[message.conversation_id] = (limit, turns)
        try:
            await self.pipeline.handle(message)
            if (failure := self.outbound.failures.pop(message.id, None)) is not None:
                raise failure  # Redis failed under the reply: leave the entry pending and retry it
            if message.id not in self.outbound.ends and message.id not in self.outbound.taken_over:
                await self._settle(message, reply_to)
        finally:
            self.store.prefetched.pop(message.conversation_id, None)
            self.store.not_forgotten.discard(message.id)
            self.outbound.attempts.pop(message.id, None)
            self.outbound.taken_over.discard(message.id)
            self.outbound.failures.pop(message.id, None)

    async def _settle(self, message: Message, reply_to: str) -> None:
        """The pipeline ended without announcing a final reply: announce the stored one, or abort."""
        status, reply_id = await self.store.status_of(message.id)
        reply = await self.store.get_reply(reply_id) if status == Status.DONE and reply_id else None
        if reply is not None:
            await self.outbound.resend_stored(message, reply, reply_to)
        else:
            await self.outbound.abort(message, reply_to)

    def cancel(self, conversation_id: str) -> bool:
        return False  # cancelling travels with the ingress's channel; workers are not reachable by it

    async def drain(self, deadline: float | None = None) -> bool:
        """Finish in-flight messages, hand every partition back, leave the pool."""
        deadline = self.config.bus.shutdown_deadline if deadline is None else deadline
        self._closed = True
        self.leases.stopping = True
        await stop_task(self._leases_task, "the lease keeper")
        await self.leases.stop(deadline)
        return True


def _flat(fields: dict[str, str]) -> list[str]:
    return [x for pair in fields.items() for x in pair]
