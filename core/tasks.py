"""Background tasks with an owner: referenced while they run, failures logged, ended on shutdown.

asyncio keeps only a weak reference to a task, so a task nobody holds can vanish mid-run; and
an exception nobody retrieves is reported late and without context. Every part of the bot that
starts work on the side (busy replies, retiring models, the model watcher) owns one of these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

log = logging.getLogger("interplay.tasks")
T = TypeVar("T")


class BackgroundTasks:
    """A set of running tasks owned by one part of the bot (`owner` names it in logs)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run `coro` on the running loop; the task is held until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("a background task of %s failed", self.owner, exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def wait(self, timeout: float | None = None) -> set[asyncio.Task[Any]]:
        """Wait up to `timeout` seconds for the tasks running now; returns those still running."""
        if not self._tasks:
            return set()
        _, still = await asyncio.wait(list(self._tasks), timeout=timeout)
        return still

    async def cancel(self) -> None:
        """Cancel every task and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
