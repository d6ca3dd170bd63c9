"""The in-process message bus: strict order inside a conversation, concurrency across them.

A channel's `submit()` returns once the message is durably stored, so the channel may then
acknowledge it upstream. Each conversation with pending messages has one worker task that
drains its backlog in order; idle conversations cost nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from typing import TYPE_CHECKING, Protocol

from .config import BusSettings
from .contracts import Inbox, Submitted
from .errors import BusClosed
from .limits import AdmissionGate, valid_text
from .logs import message_context
from .messages import Feedback, Message, ReplySource
from .observability import NULL_OBSERVER, PipelineObserver
from .store.base import ConversationStore, Status
from .tasks import BackgroundTasks

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger("interplay.bus")


class BusBackend(Inbox, Protocol):
    """What carries messages from channels to the pipeline: `Bus` in one process, Redis when scaled out.

    Channels see only the `Inbox` part; the bot starts the backend with the pipeline it feeds,
    drains it at shutdown, and `/status`, `/readyz` and the metrics read its load.
    """

    @property
    def pending(self) -> int:
        """Messages accepted but not yet answered."""
        ...

    @property
    def conversations(self) -> int:
        """Conversations with messages queued or in progress."""
        ...

    @property
    def processed(self) -> int:
        """Messages finished since start."""
        ...

    @property
    def closed(self) -> bool:
        """True once draining began: no new messages are taken."""
        ...

    async def start(self, pipeline: Pipeline) -> None:
        """Begin handing messages to `pipeline` (re-queue those stored before a crash)."""
        ...

    async def drain(self, deadline: float | None = None) -> bool:
        """Stop taking messages and finish in-flight ones; True if all finished in time."""
        ...


class Bus:
    """The in-process `BusBackend`: per-conversation workers on this event loop."""

    def __init__(
        self,
        store: ConversationStore,
        settings: BusSettings,
        *,
        gate: AdmissionGate | None = None,
        observer: PipelineObserver = NULL_OBSERVER,
    ) -> None:
        self.store = store
        self.settings = settings
        self.gate = gate  # size and rate limits ([limits])
        self.observer = observer
        self._pipeline: Pipeline | None = None  # given by start()
        self._capacity = asyncio.Semaphore(settings.max_pending)
        self._queues: dict[str, deque[Message]] = {}
        self._per_sender: Counter[tuple[str, str]] = Counter()  # queued or in progress, per person
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()
        self._side_tasks = BackgroundTasks("the bus")  # busy and limited replies
        self._closed = False
        self.processed = 0

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the bus has not been started: await bus.start(pipeline) first")
        return self._pipeline

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Messages accepted but not yet answered."""
        return sum(len(q) for q in self._queues.values())

    @property
    def conversations(self) -> int:
        return len(self._queues)

    async def submit(self, message: Message) -> Submitted:
        """Store durably, then queue. Waits while the bus is full (backpressure)."""
        outcome = await self._admit(message)
        self.observer.received(message, outcome)
        return outcome

    async def _admit(self, message: Message) -> Submitted:
        if self._closed:
            raise BusClosed("the bot is shutting down; try again in a moment")
        message = valid_text(message)
        cap = self.settings.sender_backlog
        if cap and self._per_sender[_sender(message)] >= cap:  # before waiting for room: others go on
            if not await self.store.record_inbound(message):
                return Submitted.DUPLICATE
            self._side_tasks.spawn(self._busy(message))
            return Submitted.BUSY
        await self._capacity.acquire()
        try:
            stored = await self.store.record_inbound(message)
        except BaseException:
            self._capacity.release()
            raise
        if not stored:
            self._capacity.release()
            return Submitted.DUPLICATE
        if self.gate is not None and (refusal := self.gate.refusal(message)) is not None:
            self._capacity.release()
            self._side_tasks.spawn(self._refuse(message, refusal))
            return Submitted.LIMITED
        return self._enqueue(message)

    async def feedback(self, feedback: Feedback) -> None:
        await self.store.add_feedback(feedback)

    async def start(self, pipeline: Pipeline) -> None:
        """Hand messages to `pipeline` from now on, starting with those stored before a crash."""
        self._pipeline = pipeline
        await self.recover()

    async def recover(self) -> int:
        """Queue messages stored before a crash but never started; returns how many."""
        pending = await self.store.pending()
        for message in pending:
            await self._capacity.acquire()
            self._enqueue(message)
        if pending:
            log.info("re-queued %d message(s) stored before the last stop", len(pending))
        return len(pending)

    def _enqueue(self, message: Message) -> Submitted:
        queue = self._queues.get(message.conversation_id)
        if queue is None:
            queue = self._queues[message.conversation_id] = deque()
            self._workers[message.conversation_id] = asyncio.create_task(self._work(message.conversation_id))
        elif len(queue) >= self.settings.conversation_backlog:
            self._capacity.release()
            self._side_tasks.spawn(self._busy(message))
            return Submitted.BUSY
        queue.append(message)
        self._per_sender[_sender(message)] += 1
        return Submitted.ACCEPTED

    async def _work(self, conversation_id: str) -> None:
        queue = self._queues[conversation_id]
        try:
            while queue:
                message = queue[0]
                try:
                    await self._process(message)
                finally:
                    done = _sender(queue.popleft())
                    self._per_sender[done] -= 1
                    if self._per_sender[done] <= 0:
                        del self._per_sender[done]
                    self._capacity.release()
                    self.processed += 1
        finally:
            del self._queues[conversation_id]
            del self._workers[conversation_id]

    async def _process(self, message: Message) -> None:
        cid = message.conversation_id
        with message_context(message.id, cid):
            try:
                await self.pipeline.handle(message)
            except asyncio.CancelledError:
                if cid not in self._cancel_requested:
                    raise  # shutdown past the deadline: the message stays stored, not re-answered
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                log.info("reply cancelled")
                await self.store.set_status(message.id, Status.FAILED)
            except Exception:
                log.exception("unexpected failure while handling a message")  # a bug: keep the traceback
                await self.store.set_status(message.id, Status.FAILED)
            finally:
                self._cancel_requested.discard(cid)

    async def _refuse(self, message: Message, text: str) -> None:
        await self.store.set_status(message.id, Status.BUSY)
        if text:  # empty: already told once, stay quiet until the sender slows down
            await self.pipeline.send_text(message, text, ReplySource("limited"))

    async def _busy(self, message: Message) -> None:
        await self.store.set_status(message.id, Status.BUSY)
        await self.pipeline.send_text(message, self.settings.busy_reply, ReplySource("busy"))

    def cancel(self, conversation_id: str) -> bool:
        """Stop the reply being produced in a conversation (reset, client gone)."""
        task = self._workers.get(conversation_id)
        if task is None or task.done() or conversation_id in self._cancel_requested:
            return False
        self._cancel_requested.add(conversation_id)
        task.cancel()
        return True

    async def drain(self, deadline: float | None = None) -> bool:
        """Stop taking messages and finish in-flight ones; True if all finished in time."""
        self._closed = True
        deadline = self.settings.shutdown_deadline if deadline is None else deadline
        tasks = [*self._workers.values(), *self._side_tasks]
        if not tasks:
            return True
        _, still = await asyncio.wait(tasks, timeout=deadline)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=1.0)
            log.warning(
                "shutdown deadline passed: %d conversation(s) cut short; their messages "
                "stay stored and are not answered twice",
                len(still),
            )
        return not still


def _sender(message: Message) -> tuple[str, str]:
    return message.channel, message.user_id
