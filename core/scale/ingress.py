"""`interplay run --role ingress`: channel processes that put messages on the Redis streams.

`submit()` stores the message and appends it to its conversation's partition in one Lua
script, then returns, so a channel acknowledges upstream only what Redis holds. Replies come
back on this process's own outbound stream (see delivery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

from ..config import InterplayConfig
from ..contracts import Submitted
from ..errors import BusClosed
from ..limits import AdmissionGate
from ..messages import Feedback, Message, ReplySource
from ..store.base import Status
from ..tasks import BackgroundTasks
from .delivery import ReplyRouter
from .keys import RedisUnavailable, stop_task
from .store import RedisStore, ensure_groups

if TYPE_CHECKING:
    from ..pipeline import Pipeline

log = logging.getLogger("interplay.scale.ingress")


def ingress_name(config: InterplayConfig) -> str:
    """Stable across restarts, so a restarted ingress picks up replies addressed to it."""
    return f"{socket.gethostname()}:{'+'.join(config.pipeline.channels)}"


class RedisIngress:
    """The `BusBackend` of an ingress process: channels submit here, workers answer."""

    def __init__(
        self, config: InterplayConfig, store: RedisStore, name: str, *, gate: AdmissionGate | None = None
    ) -> None:
        self.config = config
        self.settings = config.bus
        self.store = store
        self.name = name
        self.gate = gate  # admission limits ([limits]) apply here, where messages arrive
        self.stream = store.keys.outbound(name)
        self.router: ReplyRouter | None = None  # made by start(), with the pipeline it delivers through
        self._pipeline: Pipeline | None = None
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._side = BackgroundTasks("the ingress")  # busy and limited replies
        self.accepted = 0

    @property
    def pending(self) -> int:
        """Messages this process accepted whose reply it has not handed out yet."""
        return max(self.accepted - self.processed, 0)

    @property
    def conversations(self) -> int:
        return len(self.router.live) if self.router else 0

    @property
    def processed(self) -> int:
        return self.router.finished if self.router else 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the ingress has not been started: await ingress.start(pipeline) first")
        return self._pipeline

    async def start(self, pipeline: Pipeline) -> None:
        """Resume handing out replies addressed to this process (also those sent while it was down)."""
        self._pipeline = pipeline
        stall = self.settings.generation_timeout + 3 * self.config.redis.lease_ttl
        self.router = ReplyRouter(self.store, pipeline, self.stream, stall)
        await ensure_groups(self.store.client, self.store.keys)
        self._reader = asyncio.create_task(self.router.run(), name="replies")

    async def submit(self, message: Message) -> Submitted:
        """Store and enqueue in one step; returns once Redis holds the message."""
        if self._closed:
            raise BusClosed("the bot is shutting down; try again in a moment")
        if self.gate is not None and (refusal := self.gate.refusal(message)) is not None:
            return await self._refuse(message, refusal)
        verdict = await self._accept(message)
        if verdict == "dup":
            return Submitted.DUPLICATE
        if verdict in ("busy", "full"):  # stored with status busy, never queued
            log.info("%s: answering with the busy reply", "bus full" if verdict == "full" else "backlog full")
            self._side.spawn(self.pipeline.send_text(message, self.settings.busy_reply, ReplySource("busy")))
            return Submitted.BUSY
        if verdict == "ok":  # "again": a retried call whose first run went through
            self.accepted += 1
        return Submitted.ACCEPTED

    async def _accept(self, message: Message) -> str:
        from redis.exceptions import RedisError

        try:
            return await self.store.accept(
                message, enqueue=True, reply_to=self.stream, limits=self.settings
            )
        except (RedisError, OSError) as exc:  # not stored: the channel must not acknowledge it upstream
            raise RedisUnavailable(
                f"cannot store the message in Redis ({exc}): check that redis-server is running; "
                "the channel will get the message again"
            ) from None

    async def _refuse(self, message: Message, text: str) -> Submitted:
        if not await self.store.record_inbound(message):
            return Submitted.DUPLICATE
        await self.store.set_status(message.id, Status.BUSY)
        if text:
            self._side.spawn(self.pipeline.send_text(message, text, ReplySource("limited")))
        return getattr(Submitted, "LIMITED", Submitted.BUSY)

    async def feedback(self, feedback: Feedback) -> None:
        await self.store.add_feedback(feedback)

    def cancel(self, conversation_id: str) -> bool:
        return False  # the reply is produced in a worker process; it runs to its end

    async def drain(self, deadline: float | None = None) -> bool:
        """Take no new messages; wait up to `deadline` s for replies still coming, then stop reading."""
        self._closed = True
        deadline = self.settings.shutdown_deadline if deadline is None else deadline
        loop = asyncio.get_running_loop()
        until = loop.time() + deadline
        router = self.router
        while router and (self.pending or router.tasks or self._side) and loop.time() < until:
            router.progress.clear()
            with contextlib.suppress(TimeoutError):  # re-check now and then: side tasks end silently
                await asyncio.wait_for(router.progress.wait(), 0.1)
        finished = not self.pending
        if router is not None:
            router.stopping = True
            await stop_task(self._reader, "the reply reader")
            await router.stop()
        await self._side.cancel()
        return finished
