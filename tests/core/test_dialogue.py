"""SlotSkill on its own: slots from entities or typed answers, parsing, optional slots, expiry."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from interplay.core import Analyzer, Annotation, Command, Conversation, Message, PluginSettings, hookimpl
from interplay.core.dialogue import InvalidAnswer, Slot, SlotSkill
from interplay.testing import run_bot


def people(answer: str) -> int:
    if not answer.strip().isdigit() or not 1 <= int(answer) <= 12:
        raise InvalidAnswer("Tables take 1 to 12 people.")
    return int(answer)


class Booking(SlotSkill):
    name = "booking"
    matcher = Command("book")
    slots = (
        Slot("place", "Which restaurant?", entities=("restaurant",)),
        Slot("people", "For how many people?", entities=("number",), parse=people),
        Slot("note", "", entities=("note",), required=False),
    )

    async def complete(self, values: Mapping[str, Any], conversation: Conversation) -> str:
        note = f" ({values['note']})" if "note" in values else ""
        return f"Booked {values['place']} for {values['people']}{note}."


ENTITIES = {
    "/book Chez Léon for 4": [
        {"label": "restaurant", "text": "Chez Léon"},
        {"label": "number", "text": "4"},
        {"label": "note", "text": "window"},
    ],
    "/book for 40": [{"label": "number", "text": "40"}],  # unusable: the slot stays empty and is asked
}


class Entities(Analyzer):
    """Stands in for the `entities` analyzer: the spans listed above."""

    name = "entities"
    Settings = PluginSettings

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "x", data={"entities": ENTITIES.get(message.text, [])})


class Plugins:
    register_skills = staticmethod(hookimpl(lambda register: register(Booking)))
    register_analyzers = staticmethod(hookimpl(lambda register: register(Entities)))


def running() -> Any:
    return run_bot(Plugins, analyzers=["entities"], skills=["booking"], installed=False)


async def talk(*texts: str) -> list[str]:
    async with running() as bot:
        return [(await bot.say(t)).text for t in texts]


async def test_everything_said_at_once_books_at_once():
    assert await talk("/book Chez Léon for 4") == ["Booked Chez Léon for 4 (window)."]


async def test_missing_slots_are_asked_in_order_and_a_bad_number_is_reasked():
    replies = await talk("/book", "Chez Léon", "lots", "3")
    assert replies == [
        "Which restaurant?",
        "For how many people?",
        "Tables take 1 to 12 people. For how many people?",
        "Booked Chez Léon for 3.",
    ]


async def test_an_unusable_entity_is_not_taken():
    assert (await talk("/book for 40"))[0] == "Which restaurant?"


async def test_a_stale_question_is_forgotten(monkeypatch):
    Booking.expires_after = 0.5
    try:
        async with running() as bot:
            assert (await bot.say("/book")).text == "Which restaurant?"
            state = await bot.store.load_state("c1", "u1", "booking")
            assert state is not None and state["asking"] == "place"
            real = time.time
            monkeypatch.setattr(time, "time", lambda: real() + 5)
            assert (await bot.say("Chez Léon")).source == "generator:echo"
    finally:
        Booking.expires_after = 3600.0
