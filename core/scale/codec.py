"""Messages, replies, turns and feedback as JSON, for Redis stream entries and keys."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from types import MappingProxyType
from typing import Any

from ..messages import Annotation, Feedback, Message, Reply, Turn


def _annotations_out(annotations: Mapping[str, Annotation]) -> dict[str, Any]:
    return {
        k: {"label": a.label, "confidence": a.confidence, "top": a.top, "data": dict(a.data)}
        for k, a in annotations.items()
    }


def _annotations_in(raw: Mapping[str, Any] | None) -> Mapping[str, Annotation]:
    if not raw:
        return MappingProxyType({})
    return MappingProxyType(
        {
            k: Annotation(k, v["label"], v["confidence"], tuple(map(tuple, v["top"])), v.get("data", {}))
            for k, v in raw.items()
        }
    )


def dump_message(message: Message) -> str:
    """A message as JSON (annotations and meta included)."""
    return json.dumps(
        {
            "channel": message.channel,
            "conversation_id": message.conversation_id,
            "user_id": message.user_id,
            "text": message.text,
            "external_id": message.external_id,
            "id": message.id,
            "time": message.time,
            "annotations": _annotations_out(message.annotations),
            "meta": dict(message.meta),
        },
        default=str,
    )


def load_message(raw: str | bytes) -> Message:
    """The inverse of `dump_message`."""
    data = json.loads(raw)
    data["annotations"] = _annotations_in(data.get("annotations"))
    data["meta"] = MappingProxyType(data.get("meta") or {})
    return Message(**data)


def dump_reply(reply: Reply) -> str:
    """A reply as JSON."""
    data = {f.name: getattr(reply, f.name) for f in fields(reply)}  # not asdict: it deep-copies
    data["latency"] = dict(reply.latency)
    return json.dumps(data, default=str)


def load_reply(raw: str | bytes) -> Reply:
    """The inverse of `dump_reply`."""
    data = json.loads(raw)
    data["latency"] = MappingProxyType(data.get("latency") or {})
    return Reply(**data)


def dump_turn(turn: Turn) -> str:
    """One history line as JSON."""
    return json.dumps(
        {
            "role": turn.role,
            "text": turn.text,
            "id": turn.id,
            "time": turn.time,
            "annotations": _annotations_out(turn.annotations),
        },
        default=str,
    )


@functools.lru_cache(maxsize=4096)
def load_turn(raw: str | bytes) -> Turn:
    """The inverse of `dump_turn`. Cached: a worker reads a conversation's turns for every message,
    and a Turn is immutable (frozen, annotations read-only), so the same object can be handed out."""
    data = json.loads(raw)
    data["annotations"] = _annotations_in(data.get("annotations"))
    return Turn(**data)


def dump_feedback(feedback: Feedback) -> str:
    """Feedback as JSON."""
    return json.dumps(asdict(feedback), default=str)


def load_feedback(raw: str | bytes) -> Feedback:
    """The inverse of `dump_feedback`."""
    return Feedback(**json.loads(raw))
