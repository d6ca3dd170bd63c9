"""👍 / 👎 buttons and :+1: / :-1: reactions on the bot's replies → stored Feedback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from interplay.core import Feedback, Inbox, Reply
from interplay.core.store import ConversationStore

from .events import Reaction, dict_field, person_id, text_field
from .sender import BAD_ACTION, GOOD_ACTION

log = logging.getLogger("interplay.slack")
CHANNEL = "slack"
SCORES = {GOOD_ACTION: 1.0, BAD_ACTION: -1.0}


def message_key(channel: str, ts: str) -> str:
    """A reply's external id: a ts is unique only within its channel, so the channel comes too."""
    return f"{channel}:{ts}"


@dataclass(frozen=True)
class ButtonClick:
    """One press of a feedback button, read from a `block_actions` payload."""

    reply_id: str
    user: str  # Slack's user id (whom the ephemeral thanks go to)
    score: float
    channel: str
    thread_ts: str | None
    team: str = ""

    @property
    def person(self) -> str:
        """As Interplay names the person: "team:user" (events.person_id)."""
        return person_id(self.team, self.user)


def read_button_click(payload: dict[str, Any]) -> ButtonClick | None:
    """The feedback click in an interactivity payload, or None when it holds none of ours."""
    actions = payload.get("actions")
    who = dict_field(payload, "user")
    user = text_field(who, "id")
    if payload.get("type") != "block_actions" or not isinstance(actions, list) or not user:
        return None
    team = text_field(dict_field(payload, "team"), "id") or text_field(who, "team_id")
    for action in actions:
        if not isinstance(action, dict):
            continue
        score = SCORES.get(text_field(action, "action_id"))
        if score is not None and text_field(action, "value"):
            container, channel = dict_field(payload, "container"), dict_field(payload, "channel")
            return ButtonClick(
                action["value"],
                user,
                score,
                text_field(container, "channel_id") or text_field(channel, "id"),
                text_field(dict_field(payload, "message"), "thread_ts") or None,
                team,
            )
    return None


class FeedbackRecorder:
    """Turns clicks and reactions into Feedback: one vote per person and reply, the latest."""

    def __init__(self, store: ConversationStore, inbox: Inbox) -> None:
        self.store = store
        self.inbox = inbox

    async def click(self, click: ButtonClick) -> Reply | None:
        """Store a button press; returns the reply it judged (None when unknown or already counted)."""
        reply = await self.store.get_reply(click.reply_id)
        # the button's value names the reply: it must also be a reply in the channel clicked in
        if reply is None or reply.channel != CHANNEL or reply.conversation_id.split(":")[0] != click.channel:
            log.info("feedback button for an unknown reply %s ignored", click.reply_id)
            return None
        return await self._record(reply, click.person, click.score)

    async def reaction(self, reaction: Reaction) -> Reply | None:
        """Store a :+1: / :-1: on a bot reply; other messages are ignored."""
        reply = await self.store.reply_by_external_id(CHANNEL, message_key(reaction.channel, reaction.ts))
        if reply is None:
            log.debug("reaction on a message that is not a stored bot reply ignored")
            return None
        return await self._record(reply, reaction.person, reaction.score)

    async def _record(self, reply: Reply, user: str, score: float) -> Reply | None:
        # The store keeps one vote per person and reply, the latest: a second click or Slack
        # retrying the event replaces the vote with the same one (no dedupe key: it would keep
        # the user id after /forget).
        await self.inbox.feedback(
            Feedback(
                reply_id=reply.id,
                conversation_id=reply.conversation_id,
                user_id=user,
                score=score,
                kind="explicit",
                channel=CHANNEL,
                model_version=reply.model_version,
            )
        )
        return reply
