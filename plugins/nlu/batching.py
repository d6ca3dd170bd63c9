"""Micro-batching: messages that arrive together share one model call, run off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Collects items submitted close together and runs `fn(batch)` in its own worker thread.

    While one batch runs, new arrivals queue up and go together in the next call, so under load
    batches grow by themselves; `max_wait` adds a short pause to gather items sent at once.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait: float = 0.002,
        name: str = "batcher",
    ) -> None:
        self._fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        # one thread: batches run in order, and the model's own threads do the parallel work
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"interplay-{name}")
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batch_sizes: list[int] = []  # observable for tests and metrics

    async def submit(self, item: T) -> R:
        """The result for one item, computed in a batch with whatever arrived alongside it."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(self.max_wait)
            batch = [(item, fut) for item, fut in self._pending[: self.max_batch] if not fut.done()]
            del self._pending[: self.max_batch]
            if batch:
                await self._run(loop, batch)

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = await loop.run_in_executor(self._executor, self._fn, [item for item, _ in batch])
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():  # a caller that timed out has cancelled its future
                fut.set_result(result)

    async def close(self) -> None:
        """Stop accepting work, fail what is still queued and release the worker thread."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(RuntimeError("the analyzer stopped"))
        self._pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
