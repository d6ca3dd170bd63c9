"""The worker's side of reply delivery: reply streams become events on an ingress's outbound stream.

A worker runs the ordinary `Pipeline`; in place of real channels it gets `RemoteChannels`,
whose channels append each text delta to the outbound stream of the ingress process that
accepted the message; the end event (the stored reply) goes out in the step that stores and
acknowledges it (see worker.py). The first delta claims the message for this attempt (see
`scripts.EMIT`), so a reply that began to go out is never started a second time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..contracts import ReplyStream
from ..errors import InterplayError
from ..messages import Message, Reply
from . import codec, scripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .keys import Keys

log = logging.getLogger("interplay.scale.outbound")
STARTED_TTL = 7 * 86400  # seconds; long past any redelivery of the message


class ReplyTakenOver(InterplayError):
    """Another attempt already began this reply (this worker lost its partition): stop quietly."""


@dataclass(frozen=True)
class Attempt:
    """One worker's try at answering one stream entry."""

    token: str  # unique per try: worker name + stream entry id + a counter
    reply_to: str  # the outbound stream of the ingress that accepted the message


class Outbound:
    """Appends reply events to outbound streams; the fencing lives in the EMIT script."""

    def __init__(self, client: Redis, keys: Keys, worker: str, maxlen: int) -> None:
        self.client: Any = client  # Any: redis-py annotates replies as bytes | str even with decode_responses
        self.keys = keys
        self.worker = worker
        self.maxlen = maxlen
        self.attempts: dict[str, Attempt] = {}  # message id -> the try in progress here
        self.ends: dict[str, tuple[Attempt, dict[str, str]]] = {}  # message id -> its end event
        self.taken_over: set[str] = set()  # messages another attempt is answering
        self.failures: dict[str, BaseException] = {}  # Redis errors while sending: retry, not fallback
        self._emit = client.register_script(scripts.EMIT)

    async def emit(self, message: Message, fields: dict[str, str]) -> None:
        """Append one event for this message's attempt; ReplyTakenOver if another attempt owns it."""
        try:
            ok = await self.append(message, self.attempts[message.id], fields)
        except Exception as exc:  # the pipeline swallows channel errors: the worker re-raises this one
            self.failures[message.id] = exc
            raise
        if not ok:
            self.taken_over.add(message.id)
            raise ReplyTakenOver(f"message {message.id} is being answered by another worker")

    async def append(self, message: Message, attempt: Attempt, fields: dict[str, str]) -> bool:
        """Append one event for this attempt; False (nothing appended) if another attempt owns it."""
        args: list[str | int] = [attempt.token, STARTED_TTL, self.maxlen, message.id]
        for key, value in {"mid": message.id, **fields}.items():  # an end event names it already
            args += [key, value]
        k = self.keys
        keys = [k.started(message.id), attempt.reply_to, k.message(message.id), k.received]
        return bool(await self._emit(keys=keys, args=args))

    async def resend_stored(self, message: Message, reply: Reply, reply_to: str) -> None:
        """Re-announce a reply stored by an attempt that crashed before acknowledging it."""
        fields = {"k": "end", "mid": message.id, "m": codec.dump_message(message)}
        fields |= {"r": codec.dump_reply(reply), "w": self.worker}
        await self.client.xadd(reply_to, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]

    async def abort(self, message: Message, reply_to: str) -> None:
        """Tell the ingress that a reply begun by a crashed attempt will not be finished."""
        # the ingress needs where to answer, not what was asked: the text stays out of the stream
        blank = codec.dump_message(replace(message, text=""))
        fields = {"k": "abort", "mid": message.id, "m": blank, "w": self.worker}
        await self.client.xadd(reply_to, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]


class OutboundChannel:
    """Stands in for the channel named `name` inside a worker's pipeline."""

    def __init__(self, name: str, outbound: Outbound) -> None:
        self.name = name
        self.outbound = outbound

    async def send(self, reply: ReplyStream) -> None:
        """Append deltas as they come; those produced while an append is in flight go out together."""
        batch: list[str] = []
        sequence = 0
        inflight: asyncio.Task[None] | None = None
        try:
            async for delta in reply:
                batch.append(delta)
                if inflight is None or inflight.done():
                    if inflight is not None:
                        await inflight  # re-raises its failure
                    sequence += 1
                    inflight = asyncio.create_task(self._append(reply, "".join(batch), sequence))
                    batch = []
            if inflight is not None:
                await inflight
            if batch:
                await self._append(reply, "".join(batch), sequence + 1)
        finally:
            if inflight is not None and not inflight.done():
                inflight.cancel()

    async def _append(self, reply: ReplyStream, text: str, sequence: int) -> None:
        # the ingress drops a chunk number it has seen (an append retried after a lost connection)
        fields = {"k": "chunk", "d": text, "n": str(sequence)}
        if sequence == 1:
            fields |= {
                "m": codec.dump_message(reply.message),
                "rid": reply.id,
                "src": reply.source,
                "mv": reply.model_version or "",
            }
        await self.outbound.emit(reply.message, fields)

    async def delivered(self, message: Message, reply: Reply) -> None:
        """Keep the end event: the worker appends it in the step that acknowledges the message."""
        fields = {"k": "end", "mid": message.id, "m": codec.dump_message(message)}
        fields |= {"r": codec.dump_reply(reply), "w": self.outbound.worker}
        attempt = self.outbound.attempts[message.id]
        self.outbound.ends[message.id] = (attempt, fields)


class RemoteChannels(dict[str, OutboundChannel]):
    """Every channel name maps to an `OutboundChannel`: workers serve all channels' messages."""

    def __init__(self, outbound: Outbound) -> None:
        super().__init__()
        self.outbound = outbound

    def __missing__(self, name: str) -> OutboundChannel:
        channel = self[name] = OutboundChannel(name, self.outbound)
        return channel

    def get(self, name: str, default: object = None) -> OutboundChannel:  # type: ignore[override]
        return self[name]
