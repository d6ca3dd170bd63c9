"""A bot kept running on its own event loop while hypothesis feeds it, one input at a time."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc
from contextlib import AsyncExitStack
from typing import Any

from hypothesis import strategies as st

# Any code point, lone surrogates and control characters included: what JSON escapes and odd
# terminals can deliver.
ANY_CHAR = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),  # lone surrogates
    st.characters(max_codepoint=0x1F),  # control characters
)
TEXT = st.text(ANY_CHAR, max_size=300) | st.sampled_from(
    ["/", "/help", "/reset", "/good", "/bad", "/status", "/start@bot", "/GOOD x", "\x00", "\ud800", "🙂" * 50]
)


class ErrorRecorder(logging.Handler):
    """Collects ERROR records: a fuzz input that makes the core log an error is a finding."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class LiveBot:
    """Starts `run_bot(...)` on a private loop; `call(coro_fn)` runs one step on it."""

    def __init__(self, factory: Any) -> None:
        self.runner = asyncio.Runner()
        self.loop_errors: list[dict[str, Any]] = []
        self.errors = ErrorRecorder()
        self._stack = AsyncExitStack()
        self._factory = factory
        self.bot: Any = None

    def __enter__(self) -> LiveBot:
        loop = self.runner.get_loop()
        loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        for name in ("interplay", "asyncio"):
            logging.getLogger(name).addHandler(self.errors)
        self.bot = self.runner.run(self._stack.enter_async_context(self._factory()))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.runner.run(self._stack.aclose())
        finally:
            self.runner.close()
            for name in ("interplay", "asyncio"):
                logging.getLogger(name).removeHandler(self.errors)

    def call(self, make: Any, timeout: float = 30.0) -> Any:
        """Run `make()` (a coroutine factory) on the bot's loop, with a deadline."""
        return self.runner.run(asyncio.wait_for(make(), timeout))

    def assert_clean(self) -> None:
        assert not self.loop_errors, self.loop_errors[:3]
        assert not self.errors.records, [r.getMessage() for r in self.errors.records[:3]]


class HeapWatch:
    """Python heap growth between `mark()` and `growth()`, leaving out hypothesis's own records.

    Tracing starts earlier (`start()`), so that objects the bot frees during the measured window
    (a full cache churning) were traced when allocated and count as freed. Hypothesis keeps a tree
    of every input it tried (several MiB per thousand), so the process's resident size would say
    more about it than about the bot.
    """

    EXCLUDE = (tracemalloc.Filter(False, "*hypothesis*"), tracemalloc.Filter(False, tracemalloc.__file__))

    def start(self) -> None:
        tracemalloc.start()

    def mark(self) -> None:
        gc.collect()
        self.baseline = tracemalloc.take_snapshot().filter_traces(self.EXCLUDE)

    def growth(self) -> int:
        gc.collect()
        now = tracemalloc.take_snapshot().filter_traces(self.EXCLUDE)
        tracemalloc.stop()
        return sum(stat.size_diff for stat in now.compare_to(self.baseline, "filename"))


# Measured over the last 2,500 of 10,000 inputs, once the store's caches are full: a leak of
# 200 bytes per message would show as 500 KiB.
MEMORY_BUDGET = 256 * 1024
