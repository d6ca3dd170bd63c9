"""Conversation stores: the interface and its implementations."""

from __future__ import annotations

from .base import ConversationStore, Status
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["ConversationStore", "MemoryStore", "SQLiteStore", "Status"]
