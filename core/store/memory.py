"""An in-memory store: for tests, benchmarks and throwaway console sessions."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ..messages import Feedback, Message, Reply, Turn
from ..privacy import forgotten_in, person, tombstone
from .base import ConversationStore, Status


class MemoryStore(ConversationStore):
    """Keeps everything in dicts; nothing survives the process."""

    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()
        self.messages: dict[str, Message] = {}
        self.status: dict[str, Status] = {}
        self.replies: dict[str, Reply] = {}
        self.turns: dict[str, list[Turn]] = defaultdict(list)
        self.feedback: list[Feedback] = []
        self.opt_outs: set[str] = set()
        self.states: dict[tuple[str, str, str], str] = {}  # JSON, as the other stores keep it
        self.tombstones: dict[str, float] = {}  # tombstone(person) -> when they were forgotten

    async def seen(self, channel: str, key: str) -> bool:
        if (channel, key) in self.keys:
            return True
        self.keys.add((channel, key))
        return False

    async def record_inbound(self, message: Message) -> bool:
        if message.external_id is not None and await self.seen(message.channel, message.external_id):
            return False
        self.messages[message.id] = message
        self.status[message.id] = Status.RECEIVED
        return True

    async def set_status(self, message_id: str, status: Status) -> None:
        self.status[message_id] = status

    async def record_reply(self, message: Message, reply: Reply) -> None:
        if message.id not in self.messages:  # forgotten while it was being answered
            return
        self.messages[message.id] = message
        self.status[message.id] = Status.DONE
        self.replies[reply.id] = reply
        turns = self.turns[message.conversation_id]
        turns.append(Turn("user", message.text, message.id, message.time, message.annotations))
        turns.append(Turn("assistant", reply.text, reply.id, reply.time))

    async def history(self, conversation_id: str, limit: int) -> tuple[Turn, ...]:
        turns = self.turns.get(conversation_id, [])
        return tuple(turns[-limit:]) if limit else ()

    async def reset(self, conversation_id: str) -> None:
        self.turns.pop(conversation_id, None)
        self.states = {k: v for k, v in self.states.items() if k[0] != conversation_id}

    async def load_state(self, conversation_id: str, user_id: str, name: str) -> dict[str, Any] | None:
        raw = self.states.get((conversation_id, user_id, name))
        return None if raw is None else json.loads(raw)

    async def save_state(
        self, conversation_id: str, user_id: str, name: str, state: Mapping[str, Any] | None
    ) -> None:
        key = (conversation_id, user_id, name)
        if state is None:
            self.states.pop(key, None)
        else:
            self.states[key] = json.dumps(dict(state))

    async def add_feedback(self, feedback: Feedback) -> None:
        vote = (feedback.reply_id, feedback.user_id, feedback.kind)
        self.feedback = [f for f in self.feedback if (f.reply_id, f.user_id, f.kind) != vote]
        self.feedback.append(feedback)

    async def get_reply(self, reply_id: str) -> Reply | None:
        return self.replies.get(reply_id)

    async def reply_by_external_id(self, channel: str, external_id: str) -> Reply | None:
        for reply in self.replies.values():
            if reply.channel == channel and reply.external_id == external_id:
                return reply
        return None

    async def last_reply(self, conversation_id: str) -> Reply | None:
        for turn in reversed(self.turns.get(conversation_id, [])):
            if turn.role == "assistant":
                return self.replies.get(turn.id)
        return None

    async def pending(self) -> list[Message]:
        ids = [i for i, s in self.status.items() if s is Status.RECEIVED]
        return sorted((self.messages[i] for i in ids), key=lambda m: m.time)

    async def feedback_for(self, reply_ids: Iterable[str] | None = None) -> list[Feedback]:
        if reply_ids is None:
            return list(self.feedback)
        wanted = set(reply_ids)
        return [f for f in self.feedback if f.reply_id in wanted]

    async def forget_user(self, user_id: str, channel: str | None = None) -> int:
        gone = [m for m in self.messages.values() if m.user_id == user_id and channel in (None, m.channel)]
        gone_ids = {m.id for m in gone}
        gone_replies = {k for k, r in self.replies.items() if r.message_id in gone_ids}
        for m in gone:
            del self.messages[m.id]
            self.status.pop(m.id, None)
        for conversation in {m.conversation_id for m in gone}:  # only their turns: a group keeps the rest
            kept = [t for t in self.turns[conversation] if t.id not in gone_ids | gone_replies]
            self.turns[conversation] = kept
        self.replies = {k: r for k, r in self.replies.items() if k not in gone_replies}
        self.feedback = [f for f in self.feedback if f.reply_id not in gone_replies
                         and not (f.user_id == user_id and channel in (None, f.channel))]
        self.tombstones[tombstone(person(channel, user_id))] = time.time()
        self.states = {k: v for k, v in self.states.items() if k[1] != user_id}
        return len(gone)

    async def forgotten(self, message: Message) -> bool:
        return forgotten_in(self.tombstones, message)

    async def set_opt_out(self, user_id: str, opted_out: bool) -> None:
        (self.opt_outs.add if opted_out else self.opt_outs.discard)(user_id)

    async def opted_out(self) -> set[str]:
        return set(self.opt_outs)

    async def exchanges(self, since: float = 0.0) -> list[tuple[Message, Reply | None]]:
        by_message = {r.message_id: r for r in self.replies.values()}
        rows = sorted((m for m in self.messages.values() if m.time > since), key=lambda m: m.time)
        return [(m, by_message.get(m.id)) for m in rows]

