"""The store interface: conversations, turns, dedupe keys, feedback, message status."""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import StoreError
from ..messages import Feedback, Message, Reply, Turn


class Status(enum.StrEnum):
    """Where an inbound message is in its life. Replies are sent at most once."""

    RECEIVED = "received"  # durably stored, not yet started: replayed after a crash
    REPLYING = "replying"  # a reply may have gone out: never replayed
    DONE = "done"
    BUSY = "busy"  # answered with the busy reply, not processed
    FAILED = "failed"


class ConversationStore(abc.ABC):
    """Everything the runtime persists. Implementations: memory, SQLite (Redis for scale-out)."""

    async def open(self) -> None:
        """Create or migrate storage."""

    async def close(self) -> None:
        """Flush and release storage."""

    async def ping(self) -> None:
        """Raise unless the store can take writes now (what /readyz asks)."""
        await self.history("readyz-probe", 1)

    @abc.abstractmethod
    async def seen(self, channel: str, key: str) -> bool:
        """Record a deduplication key; True when it was already recorded (survives restarts)."""

    @abc.abstractmethod
    async def record_inbound(self, message: Message) -> bool:
        """Durably store a new message; False (and nothing stored) for a duplicate external id."""

    @abc.abstractmethod
    async def set_status(self, message_id: str, status: Status) -> None:
        """Move a stored message to a new status."""

    @abc.abstractmethod
    async def record_reply(self, message: Message, reply: Reply) -> None:
        """Store a reply, the message's annotations and mark the message done."""

    @abc.abstractmethod
    async def history(self, conversation_id: str, limit: int) -> tuple[Turn, ...]:
        """The last `limit` turns since the last reset, oldest first."""

    @abc.abstractmethod
    async def reset(self, conversation_id: str) -> None:
        """Start the conversation afresh: earlier turns leave the history (they stay stored)."""

    @abc.abstractmethod
    async def add_feedback(self, feedback: Feedback) -> None:
        """Store a judgement of a reply: one per (reply, user, kind), a later one replaces the earlier."""

    @abc.abstractmethod
    async def get_reply(self, reply_id: str) -> Reply | None:
        """A stored reply by id."""

    @abc.abstractmethod
    async def reply_by_external_id(self, channel: str, external_id: str) -> Reply | None:
        """A stored reply by the id the channel gave it (a Telegram message id, a Slack ts)."""

    @abc.abstractmethod
    async def last_reply(self, conversation_id: str) -> Reply | None:
        """The newest reply in a conversation."""

    @abc.abstractmethod
    async def pending(self) -> list[Message]:
        """Messages stored but never started (status RECEIVED), oldest first."""

    @abc.abstractmethod
    async def feedback_for(self, reply_ids: Iterable[str] | None = None) -> list[Feedback]:
        """Stored feedback, all of it or for these replies."""

    @abc.abstractmethod
    async def forget_user(self, user_id: str, channel: str | None = None) -> int:
        """Delete a user's messages, the replies to them and their feedback (only `channel`'s when
        given; other people's turns in shared chats stay); leave a tombstone so that their messages
        still in flight are dropped (`forgotten`). Returns the number of messages removed."""

    async def forgotten(self, message: Message) -> bool:
        """True when the message's sender asked to be forgotten after it was sent: drop it unanswered."""
        return False

    # -- dialogue state of multi-turn skills (not abstract, so other stores keep working) --
    async def load_state(self, conversation_id: str, user_id: str, name: str) -> dict[str, Any] | None:
        """The state a skill (`name`) saved for one person in one conversation, or None."""
        raise StoreError(f"{type(self).__name__} cannot keep dialogue state: use the sqlite or redis store")

    async def save_state(
        self, conversation_id: str, user_id: str, name: str, state: Mapping[str, Any] | None
    ) -> None:
        """Save JSON-serialisable dialogue state, or delete it with None; `reset` clears a conversation's."""
        raise StoreError(f"{type(self).__name__} cannot keep dialogue state: use the sqlite or redis store")

    # -- the learning loop: opt-outs and export (not abstract, so other stores keep working) --
    async def set_opt_out(self, user_id: str, opted_out: bool) -> None:
        """Exclude a user from (or return them to) training data."""
        raise StoreError(f"{type(self).__name__} cannot record opt-outs yet: use the sqlite store")

    async def opted_out(self) -> set[str]:
        """Users excluded from training data."""
        raise StoreError(f"{type(self).__name__} cannot list opt-outs yet: use the sqlite store")

    async def exchanges(self, since: float = 0.0) -> list[tuple[Message, Reply | None]]:
        """Every stored message newer than `since` with its annotations and reply, oldest first."""
        raise StoreError(f"{type(self).__name__} cannot export conversations yet: use the sqlite store")
