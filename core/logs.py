"""Logging set-up: every line carries the message and conversation it concerns."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .redaction import RedactingFilter

message_id: contextvars.ContextVar[str] = contextvars.ContextVar("message_id", default="-")
conversation_id: contextvars.ContextVar[str] = contextvars.ContextVar("conversation_id", default="-")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.message_id = message_id.get()
        record.conversation_id = conversation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "message_id": getattr(record, "message_id", "-"),
            "conversation_id": getattr(record, "conversation_id", "-"),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", as_json: bool = False, stream: object = None) -> None:
    """Configure the `interplay` loggers once (idempotent)."""
    root = logging.getLogger("interplay")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(_ContextFilter())
    handler.addFilter(RedactingFilter())  # secrets never reach a log line, tracebacks included
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(conversation_id)s/%(message_id)s] %(message)s"
        )
    )
    root.addHandler(handler)
    root.propagate = False
    if logging.lastResort is not None and not logging.lastResort.filters:
        logging.lastResort.addFilter(RedactingFilter())  # warnings of libraries (httpx, telegram)


@contextmanager
def message_context(msg_id: str, conv_id: str) -> Iterator[None]:
    """Tag every log line inside the block with this message and conversation."""
    t1, t2 = message_id.set(msg_id), conversation_id.set(conv_id)
    try:
        yield
    finally:
        message_id.reset(t1)
        conversation_id.reset(t2)


@contextmanager
def library_logs_to_file(path: Path, console_level: str = "WARNING") -> Iterator[Path]:
    """Inside the block, other libraries' log lines (ONNX Runtime's quantizer logs every matrix at INFO)
    go to `path`; the console shows WARNING and above, or DEBUG when `console_level` asks for it.

    A handler on the root logger first makes the `logging.basicConfig(level=INFO)` that some
    libraries call at import a no-op.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    to_file.addFilter(RedactingFilter())
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if console_level == "DEBUG" else logging.WARNING)
    console.addFilter(RedactingFilter())
    old_level, old_handlers = root.level, list(root.handlers)
    for handler in old_handlers:
        root.removeHandler(handler)
    root.addHandler(to_file)
    root.addHandler(console)
    root.setLevel(logging.DEBUG if console_level == "DEBUG" else logging.INFO)
    try:
        yield path
    finally:
        for handler in (to_file, console):
            root.removeHandler(handler)
        to_file.close()
        for handler in old_handlers:
            root.addHandler(handler)
        root.setLevel(old_level)
