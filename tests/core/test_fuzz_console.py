"""Property-based fuzzing through the console adapter: any line typed gets a reply, nothing breaks."""

from __future__ import annotations

import asyncio
import io
import queue
import sys
import threading

import pytest
from hypothesis import HealthCheck, assume, given, settings
from interplay.core.store import SQLiteStore
from interplay.plugins import console
from interplay.testing import run_bot

from .fuzz_harness import MEMORY_BUDGET, TEXT, HeapWatch, LiveBot

FUZZ = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
LINES = TEXT.map(lambda t: t.replace("\n", " "))  # readline() hands the console one line at a time


class ScriptedStdin:
    """A pipe-like stdin: the test puts lines, and knows when the console comes back for the next."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.reads = 0
        self.cv = threading.Condition()

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        with self.cv:
            self.reads += 1
            self.cv.notify_all()
        return self.lines.get()

    def wait_for_reads(self, count: int, timeout: float) -> bool:
        with self.cv:
            return self.cv.wait_for(lambda: self.reads >= count, timeout)


class Console:
    """A bot whose only channel is the real console plugin, on scripted stdin and stdout."""

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.stdin, self.stdout = ScriptedStdin(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", self.stdin)
        monkeypatch.setattr(sys, "stdout", self.stdout)
        self.live = LiveBot(
            lambda: run_bot(
                console,
                installed=False,
                store=SQLiteStore(tmp_path / "console.sqlite3"),
                config={"pipeline": {"channels": ["console"]}, "plugins": {"console": {"user": "fuzzer"}}},
            )
        )
        self.sent = 0

    def __enter__(self) -> Console:
        self.live.__enter__()
        self.live.call(lambda: asyncio.to_thread(self.stdin.wait_for_reads, 1, 10))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stdin.lines.put("")  # end of input: the console's reader thread returns
        self.live.__exit__(*exc)

    def type(self, line: str) -> str:
        """Type one line; returns what the console printed for it."""
        before = len(self.stdout.getvalue())
        self.sent += 1
        self.stdin.lines.put(line + "\n")
        came_back = self.live.call(lambda: asyncio.to_thread(self.stdin.wait_for_reads, self.sent + 1, 20))
        assert came_back, f"the console never asked for the line after {line!r}"
        return self.stdout.getvalue()[before:]


def _fuzz(tmp_path, monkeypatch, examples: int, measure: bool = False) -> None:
    with Console(tmp_path, monkeypatch) as chat:
        watch = HeapWatch()

        @settings(FUZZ, max_examples=examples)
        @given(LINES)
        def type_line(line):
            assume(line.strip() not in ("/quit", "/exit"))
            printed = chat.type(line)
            assert "Traceback" not in printed
            if line.strip() and line.strip() != "/debug":
                assert printed.endswith("\n"), f"no reply printed for {line!r}"
            if measure and chat.sent == examples // 2:
                watch.start()
            if measure and chat.sent == examples * 3 // 4:
                watch.mark()
            chat.stdout.seek(0)  # the captured output itself must not grow: it is not the bot's memory
            chat.stdout.truncate()

        type_line()
        assert chat.sent >= examples * 0.9  # assume() rejects only the quit commands
        assert not chat.live.bot.bot.errors
        chat.live.assert_clean()
        if measure:
            growth = watch.growth()
            print(
                f"heap grew {growth / 1024:.0f} KiB over the last {examples // 4} lines", file=sys.__stderr__
            )
            assert growth < MEMORY_BUDGET, f"heap grew {growth / 2**20:.1f} MiB over {examples // 4} lines"


def test_any_typed_line_gets_a_reply(tmp_path, monkeypatch):
    _fuzz(tmp_path, monkeypatch, examples=100)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_lines_in_bounded_memory(tmp_path, monkeypatch):
    _fuzz(tmp_path, monkeypatch, examples=10_000, measure=True)


def test_quit_ends_the_session(tmp_path, monkeypatch):
    with Console(tmp_path, monkeypatch) as chat:
        assert chat.type("hello there") == "hello there\n"
        chat.stdin.lines.put("/quit\n")
        chat.live.call(lambda: asyncio.sleep(0.2))
        assert chat.live.bot.bot._stopped.is_set()
