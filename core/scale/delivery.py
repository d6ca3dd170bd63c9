"""The ingress's side of reply delivery: events from its outbound stream become channel replies.

Chunks of a reply are handed to `channel.send()` as they arrive, so replies still stream.
Before a reply's first byte goes to a channel the ingress claims it with a `sent` key
(scripts.CLAIM): whatever a worker repeats after a crash (a re-announced final reply, a late
abort), and whatever a restarted ingress reads again, a channel is handed each message's reply
at most once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contracts import ReplyStream
from ..messages import Message, Reply, ReplySource
from ..pipeline import Pipeline
from ..tasks import BackgroundTasks
from . import scripts
from .codec import load_message, load_reply
from .keys import stop_if_cancelled

if TYPE_CHECKING:
    from .keys import Keys
    from .store import RedisStore

log = logging.getLogger("interplay.scale.delivery")
FALLBACK = ReplySource("fallback")
SENT_TTL = 86400  # seconds; a worker repeats a reply only while its message is unacknowledged
READ_BLOCK_MS = 1000
POSITION_EVERY = 1.0  # seconds between saves of the read position while replies flow


@dataclass
class Live:
    """A reply being streamed to a channel while its chunks arrive."""

    message: Message
    stream: ReplyStream
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[bool] | None = None
    sequence: int = 0  # the last chunk number handed on


class ReplyRouter:
    """Reads this ingress's outbound stream and hands each reply to its channel."""

    def __init__(self, store: RedisStore, pipeline: Pipeline, stream: str, stall: float) -> None:
        self.store = store
        self.client: Any = (
            store.client
        )  # Any: redis-py annotates replies as bytes | str even with decode_responses
        self.keys: Keys = store.keys
        self.pipeline = pipeline
        self.stream = stream
        self.stall = stall  # seconds without a chunk before a live reply is given up
        self.live: dict[str, Live] = {}
        self.tasks = BackgroundTasks("the reply router")
        self.finished = 0
        self.stopping = False
        self.progress = asyncio.Event()  # set whenever a reply is finished (drain waits on it)
        self._last_send: dict[str, asyncio.Task[bool]] = {}  # conversation -> its newest send
        self.served_by: dict[str, str] = {}  # message id -> worker (for tests and logs)
        self.claimant = f"{stream}:{os.urandom(8).hex()}"  # in this process's claims (see _claim)
        self._claim_script = self.client.register_script(scripts.CLAIM)

    @property
    def position_key(self) -> str:
        return self.stream + ":pos"

    async def run(self) -> None:
        """Follow the stream from where this ingress left off, forever."""
        from redis.exceptions import RedisError

        position: str | None = None
        saved, saved_at = None, 0.0
        while not self.stopping:  # a flag as well as cancel(): redis-py may swallow a cancellation
            try:
                if position is None:
                    position = saved = await self.client.get(self.position_key) or "0-0"
                response = await self.client.xread({self.stream: position}, count=100, block=READ_BLOCK_MS)
                for _, entries in response or ():
                    for entry_id, fields in entries:
                        await self._on_event_safely(entry_id, fields)
                        position = entry_id
                # Where to resume after a restart. Saved at most every POSITION_EVERY s (or when idle),
                # not per batch: events read again after a restart are dropped by the `sent` claims.
                now = time.monotonic()
                if position != saved and (not response or now - saved_at >= POSITION_EVERY):
                    await self.client.set(self.position_key, position)
                    saved, saved_at = position, now
            except (RedisError, OSError) as exc:
                stop_if_cancelled()
                log.warning("cannot read replies from Redis: %s; retrying", exc)
                await asyncio.sleep(1.0)

    async def _on_event_safely(self, entry_id: str, fields: dict[str, str]) -> None:
        from redis.exceptions import RedisError

        try:
            await self._on_event(entry_id, fields)
        except (RedisError, OSError):
            raise  # retried by the loop from the same position
        except Exception:  # a bug or a malformed event: skip it, keep delivering the others
            log.exception("cannot hand out reply event %r", fields)

    async def _on_event(self, entry_id: str, fields: dict[str, str]) -> None:
        kind, message_id = fields.get("k"), fields.get("mid", "")
        if kind == "chunk":
            await self._chunk(entry_id, message_id, fields)
        elif kind == "end":
            self.served_by[message_id] = fields.get("w", "")
            await self._end(entry_id, load_message(fields["m"]), load_reply(fields["r"]))
        elif kind == "abort":
            await self._abort(entry_id, load_message(fields["m"]))

    async def _claim(self, message_id: str, entry_id: str) -> bool:
        """True the first time any ingress is about to hand this message's reply to a channel.

        The claim names this process and the event: handling the same event again (a command
        re-sent after a lost connection, or the read loop retrying) finds its own claim and goes
        on; another event for the message (a worker's repeat) or a restarted ingress does not.
        """
        token = f"{self.claimant}:{entry_id}"
        return bool(await self._claim_script(keys=[self.keys.sent(message_id)], args=[token, SENT_TTL]))

    async def _chunk(self, entry_id: str, message_id: str, fields: dict[str, str]) -> None:
        live = self.live.get(message_id)
        if live is None:
            if "m" not in fields or not await self._claim(message_id, entry_id):
                return  # its start was handed out before a restart: at most once
            message = load_message(fields["m"])
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            stream = ReplyStream(
                message,
                self._drain(queue),
                reply_id=fields["rid"],
                source=fields["src"],
                model_version=fields.get("mv") or None,
            )
            live = self.live[message_id] = Live(message, stream, queue)
            live.task = self._deliver_in_order(stream)
        sequence = int(fields.get("n", 0))
        if sequence and sequence <= live.sequence:
            return
        live.sequence = sequence
        live.queue.put_nowait(fields["d"])

    def _deliver_in_order(self, stream: ReplyStream) -> asyncio.Task[bool]:
        """Hand a reply to its channel once the conversation's previous reply is out (slow channels)."""
        conversation = stream.message.conversation_id
        before = self._last_send.get(conversation)
        task = asyncio.create_task(self._deliver_after(before, stream))
        self._last_send[conversation] = task
        task.add_done_callback(lambda t: self._forget_send(conversation, t))
        return task

    async def _deliver_after(self, before: asyncio.Task[bool] | None, stream: ReplyStream) -> bool:
        if before is not None:
            await asyncio.wait([before])
        return await self.pipeline.deliver(stream)

    def _forget_send(self, conversation: str, task: asyncio.Task[bool]) -> None:
        if self._last_send.get(conversation) is task:
            del self._last_send[conversation]

    async def _drain(self, queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
        while True:
            try:
                delta = await asyncio.wait_for(queue.get(), self.stall)
            except TimeoutError:
                log.warning("no reply chunk for %.0fs: ending the reply", self.stall)
                yield f" … ({self.pipeline.settings.fallback_reply})"
                return
            if delta is None:
                return
            yield delta

    async def _end(self, entry_id: str, message: Message, reply: Reply) -> None:
        live = self.live.pop(message.id, None)
        if live is not None:
            live.queue.put_nowait(None)
            self.tasks.spawn(self._finish(live.task, live.stream, message, reply))
        elif await self._claim(message.id, entry_id):
            stream = ReplyStream(
                message,
                _once(reply.text),
                reply_id=reply.id,
                source=reply.source,
                model_version=reply.model_version,
            )
            self.tasks.spawn(self._finish(self._deliver_in_order(stream), stream, message, reply))

    async def _abort(self, entry_id: str, message: Message) -> None:
        live = self.live.pop(message.id, None)
        fallback = self.pipeline.settings.fallback_reply
        if live is not None:
            live.queue.put_nowait(f" … ({fallback})")
            live.queue.put_nowait(None)
            reply = Reply(
                message.id, message.conversation_id, message.channel, "", FALLBACK, id=live.stream.id
            )
            self.tasks.spawn(self._finish(live.task, live.stream, message, reply))
        elif await self._claim(message.id, entry_id):
            self.tasks.spawn(self._fixed(message, fallback))

    async def _fixed(self, message: Message, text: str) -> None:
        await self.pipeline.send_text(message, text, FALLBACK)
        self.finished += 1
        self.progress.set()

    async def _finish(
        self, task: asyncio.Task[bool] | None, stream: ReplyStream, message: Message, reply: Reply
    ) -> None:
        """Wait for the channel to send the reply, record its external id, then call `delivered`."""
        if task is None or not await task:
            self.finished += 1
            self.progress.set()
            return
        if stream.external_id is not None and reply.source != FALLBACK:
            reply = await self.store.attach_external_id(reply, stream.external_id)
        if reply.source == FALLBACK:
            from dataclasses import replace

            reply = replace(reply, text=stream.text)
        channel = self.pipeline.channels.get(message.channel)
        if channel is not None:
            try:
                await channel.delivered(message, reply)
            except Exception:
                log.exception("channel %r failed in delivered()", channel.name)
        self.finished += 1
        self.progress.set()

    async def stop(self) -> None:
        """Cancel replies still being handed out (their messages stay answered in the store)."""
        pending = [*self.tasks, *self._last_send.values()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _once(text: str) -> AsyncIterator[str]:
    yield text
