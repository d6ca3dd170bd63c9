"""Keep secrets out of logs and error messages: known values and token-shaped strings become `***`."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

# Shapes of credentials that may reach a log without passing through `resolve_secret`
# (a URL in a library's exception, a token read straight from the environment).
_TOKEN_PATTERNS = (
    r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}",  # Telegram bot token (also inside .../bot<token>/)
    r"\b(?:xoxe\.)?xox[abposre]-[A-Za-z0-9-]{10,}",  # Slack bot / user / refresh / rotating tokens
    r"hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}",  # Slack incoming webhook URLs
    r"\bxapp-[A-Za-z0-9-]{10,}",
    r"\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{16,}",
)

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] = re.compile("|".join(_TOKEN_PATTERNS))


def _rebuild() -> None:
    global _pattern
    # longest first, so a secret that contains another is masked whole
    literal = [re.escape(s) for s in sorted(_known, key=len, reverse=True)]
    _pattern = re.compile("|".join([*literal, *_TOKEN_PATTERNS]))


def remember_secret(value: str) -> str:
    """Mask `value` in every log line and error message from now on; returns it unchanged."""
    if len(value) >= MIN_SECRET_LENGTH and value not in _known:
        with _lock:
            _known.add(value)
            _rebuild()
    return value


def remember_references(tables: Mapping[str, Any] | Iterable[Any]) -> int:
    """Remember the values behind every `$env:`/`$file:` reference in config tables; returns how many."""
    found = 0
    for ref in _references(tables):
        value = _peek(ref)
        if value:
            remember_secret(value)
            found += 1
    return found


def _references(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        if node.startswith(("$env:", "$file:")):
            yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _references(value)


def _peek(ref: str) -> str:
    if ref.startswith("$env:"):
        return os.environ.get(ref[5:], "")
    try:
        return Path(ref[6:]).expanduser().read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def redact(text: str) -> str:
    """`text` with every known secret and token-shaped string replaced by `***`."""
    return _pattern.sub(MASK, text) if text else text


class RedactingFilter(logging.Filter):
    """Formats a record's message and traceback once, with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logger's bug, not a reason to lose the line
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
