"""Events API payloads → what the channel should do with them. Pure functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Subtypes that still carry a person's own words; every other subtype (bot_message,
# message_changed, message_deleted, channel_join, ...) is an edit, a bot or housekeeping.
PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "me_message", "file_share"})
POSITIVE = frozenset({"+1", "thumbsup"})
NEGATIVE = frozenset({"-1", "thumbsdown"})
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def person_id(team: str, user: str) -> str:
    """How Interplay names a Slack user: "team:user", since user ids are unique only per workspace.

    A bot installed in several workspaces would otherwise treat two people with the same id as one
    (one's /forget deleting the other's messages). Without a team id (never seen from Slack
    itself), the bare user id.
    """
    return f"{team}:{user}" if team else user


@dataclass(frozen=True)
class Incoming:
    """A person's message the bot should answer."""

    event_id: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None  # where to reply; None: top level of a direct message
    team: str = ""

    @property
    def person(self) -> str:
        return person_id(self.team, self.user)

    @property
    def conversation_id(self) -> str:
        """One conversation per thread; a DM's top level is one running conversation."""
        return f"{self.channel}:{self.thread_ts}" if self.thread_ts else self.channel


@dataclass(frozen=True)
class Reaction:
    """A :+1: or :-1: added to a message, possibly one of the bot's replies."""

    event_id: str
    user: str
    channel: str
    ts: str
    score: float
    team: str = ""

    @property
    def person(self) -> str:
        return person_id(self.team, self.user)


@dataclass(frozen=True)
class Ignored:
    """An event the bot does not act on, with a reason for the debug log."""

    reason: str


Decision = Incoming | Reaction | Ignored


def decide(envelope: dict[str, Any], bot_user_id: str | None) -> Decision:
    """What to do with one `event_callback` envelope."""
    event = envelope.get("event")
    event_id = envelope.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
        return Ignored("event_callback without an event or event_id")
    kind = event.get("type")
    if kind == "app_mention":
        return _mention(event_id, event, bot_user_id, text_field(envelope, "team_id"))
    if kind == "message":
        return _direct_message(event_id, event, bot_user_id, text_field(envelope, "team_id"))
    if kind == "reaction_added":
        return _reaction(event_id, event, bot_user_id, text_field(envelope, "team_id"))
    return Ignored(f"event type {kind!r} is not handled")


def _mention(event_id: str, event: dict[str, Any], bot: str | None, team: str) -> Decision:
    if _is_direct(event):
        # Direct messages arrive as message.im too; answering only that one avoids a double reply.
        return Ignored("app_mention in a direct message (handled as message.im)")
    why = _not_a_person(event, bot)
    if why:
        return Ignored(why)
    ts = event["ts"]
    return Incoming(
        event_id,
        event["channel"],
        event["user"],
        clean_text(text_field(event, "text"), bot),
        ts,
        text_field(event, "thread_ts") or ts,
        team,
    )


def _direct_message(event_id: str, event: dict[str, Any], bot: str | None, team: str) -> Decision:
    if not _is_direct(event):
        return Ignored("message outside a direct message (channels answer only when mentioned)")
    why = _not_a_person(event, bot)
    if why:
        return Ignored(why)
    return Incoming(
        event_id,
        event["channel"],
        event["user"],
        clean_text(text_field(event, "text"), bot),
        event["ts"],
        text_field(event, "thread_ts") or None,
        team,
    )


def _reaction(event_id: str, event: dict[str, Any], bot: str | None, team: str) -> Decision:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return Ignored("reaction on something other than a message")
    if bot and event.get("item_user") not in (None, bot):
        return Ignored("reaction on a message that is not the bot's")
    name = text_field(event, "reaction").split("::", 1)[0]  # "+1::skin-tone-3" counts as +1
    score = 1.0 if name in POSITIVE else -1.0 if name in NEGATIVE else 0.0
    if not score:
        return Ignored(f"reaction :{name}: is not feedback")
    if not all(isinstance(v, str) and v for v in (event.get("user"), item.get("channel"), item.get("ts"))):
        return Ignored("reaction_added without user, channel or ts")
    return Reaction(event_id, event["user"], item["channel"], item["ts"], score, team)


def _is_direct(event: dict[str, Any]) -> bool:
    channel_type = event.get("channel_type")
    if channel_type is not None:
        return bool(channel_type == "im")
    return text_field(event, "channel").startswith("D")  # app_mention carries no channel_type


def _not_a_person(event: dict[str, Any], bot: str | None) -> str:
    """Why this message is not a person's text for the bot to answer ('' when it is)."""
    if event.get("bot_id") or event.get("bot_profile"):
        return "message from a bot"
    if bot and event.get("user") == bot:
        return "the bot's own message"
    subtype = event.get("subtype")
    if subtype is not None and (not isinstance(subtype, str) or subtype not in PERSON_SUBTYPES):
        return f"message subtype {subtype!r}"
    if not all(text_field(event, k) for k in ("user", "channel", "ts")):
        return "message without user, channel or ts"
    if not clean_text(text_field(event, "text"), bot):
        return "message without text"
    return ""


def text_field(data: dict[str, Any], key: str) -> str:
    """A string field of a payload; '' when it is missing or not a string (never trust the shape)."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


def dict_field(data: dict[str, Any], key: str) -> dict[str, Any]:
    """An object field of a payload; {} when it is missing or not an object."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def clean_text(text: str, bot: str | None) -> str:
    """The words a person wrote: the bot's own @-mention removed and Slack's escapes undone."""
    if bot:
        text = _MENTION.sub(lambda m: "" if m.group(1) == bot else m.group(0), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def escape(text: str) -> str:
    """Escape &, < and > so generated text cannot form links or @channel pings in Slack."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
