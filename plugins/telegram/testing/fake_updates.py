"""Builders for the Update JSON that Telegram sends: what a test "types" into the fake server."""

from __future__ import annotations

import itertools
import time
from typing import Any

_users = itertools.count(1000)


def user(user_id: int, name: str = "Ada") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name}


def chat(chat_id: int, chat_type: str = "") -> dict[str, Any]:
    kind = chat_type or ("private" if chat_id > 0 else "supergroup")
    found: dict[str, Any] = {"id": chat_id, "type": kind}
    if kind == "private":
        found["first_name"] = "Ada"
    else:
        found["title"] = f"group {chat_id}"
    return found


def message(chat_id: int, message_id: int, text: str | None, *, user_id: int | None = None,
            chat_type: str = "", reply_to: dict[str, Any] | None = None, date: int | None = None,
            **extra: Any) -> dict[str, Any]:
    """A Message object; `text` None leaves the text out (add a sticker or photo via `extra`)."""
    sender = user_id if user_id is not None else (chat_id if chat_id > 0 else next(_users))
    found: dict[str, Any] = {"message_id": message_id, "date": date or int(time.time()),
                             "chat": chat(chat_id, chat_type), "from": user(sender)}
    if text is not None:
        found["text"] = text
        entities = _entities(text)
        if entities:
            found["entities"] = entities
    if reply_to is not None:
        found["reply_to_message"] = reply_to
    found.update(extra)
    return found


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities, as Telegram marks them (ASCII text only)."""
    found = []
    for word_start, word in _words(text):
        if word.startswith("/") and word_start == 0 and len(word) > 1:
            found.append({"type": "bot_command", "offset": 0, "length": len(word)})
        elif word.startswith("@") and len(word) > 1:
            found.append({"type": "mention", "offset": word_start, "length": len(word)})
    return found


def _words(text: str) -> list[tuple[int, str]]:
    words, start = [], None
    for i, char in enumerate(text + " "):
        if char.isspace():
            if start is not None:
                words.append((start, text[start:i]))
                start = None
        elif start is None:
            start = i
    return words


STICKER = {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADBAAD", "type": "regular",
           "width": 512, "height": 512, "is_animated": False, "is_video": False}
PHOTO = [{"file_id": "AgACAgIAAxkBAAE", "file_unique_id": "AQADBAAD", "width": 90, "height": 90}]
VOICE = {"file_id": "AwACAgIAAxkBAAE", "file_unique_id": "AgADBQAD", "duration": 2}


def callback(query_id: str, from_user: int, data: str, message: dict[str, Any]) -> dict[str, Any]:
    """A CallbackQuery: a press of an inline button under `message`."""
    return {"id": query_id, "from": user(from_user), "chat_instance": "1", "data": data, "message": message}
