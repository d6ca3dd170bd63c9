"""`interplay data export`: redaction, opt-outs, held-out golden set, versioned directories."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from interplay.core import Feedback, Message, Reply
from interplay.core.store import MemoryStore, SQLiteStore
from interplay.trainer.datasets.export import (
    ExportOptions,
    export_dataset,
    held_out,
    latest,
    pseudonym,
    pseudonym_key,
    read_jsonl,
)
from interplay.trainer.datasets.redact import (
    CARD,
    EMAIL,
    IBAN,
    NATIONAL_ID,
    PHONE,
    SECRET,
    Redactor,
    luhn_valid,
    redact,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jo.doe+bot@mail.example.org today", f"write to {EMAIL} today"),
        ("call +44 20 7946 0958 or (555) 123-4567", f"call {PHONE} or {PHONE}"),
        ("my card is 4111 1111 1111 1111, expiry soon", f"my card is {CARD}, expiry soon"),
        ("card 5500-0000-0000-0004 please", f"card {CARD} please"),
        ("order 12345 came on 2024-01-15 at 10:30", "order 12345 came on 2024-01-15 at 10:30"),
        ("I have 3 cats and 2 dogs", "I have 3 cats and 2 dogs"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jo\u200b.doe@exa\u200dmple.org now", f"mail {EMAIL} now"),  # zero-width characters
        ("mail jo.doe＠example．org now", f"mail {EMAIL} now"),  # full-width @ and dot
        ("mail jo.doe (at) example (dot) org now", f"mail {EMAIL} now"),
        ("card 4111.1111.1111.1111 ok", f"card {CARD} ok"),
        ("card 4111\u200b1111\u20601111\u00ad1111 ok", f"card {CARD} ok"),
        ("card ４１１１ １１１１ １１１１ １１１１ ok", f"card {CARD} ok"),  # full-width digits
        ("call +44\u200b20 7946\u200c0958 soon", f"call {PHONE} soon"),
        ("pay GB82 WEST 1234 5698 7654 32 today", f"pay {IBAN} today"),
        ("pay DE89370400440532013000 and more words here", f"pay {IBAN} and more words here"),
        ("ssn 123-45-6789 ok", f"ssn {NATIONAL_ID} ok"),
        ("NI number AB 12 34 56 C ok", f"NI number {NATIONAL_ID} ok"),
        ("token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 ok", f"token {SECRET} ok"),
        ("slack xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx ok", f"slack {SECRET} ok"),
        ("slack xoxe.xoxp-1-Mi0yLTEtMTIzNDU2Nzg5MC0xMjM0NTY3ODkw ok", f"slack {SECRET} ok"),
        ("an IBAN-like GB00 WEST 1234 5698 7654 32 with a bad check", None),
    ],
)
def test_redaction_is_not_bypassed_by_formatting(text: str, expected: str | None) -> None:
    out = redact(text)
    if expected is None:
        assert IBAN not in out
    else:
        assert out == expected


def test_luhn_and_counts() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    redactor = Redactor()
    redactor("a@b.example and c@d.example, phone 030 1234567")
    assert redactor.counts == {EMAIL: 2, PHONE: 1}


async def fill(store: object, conversations: int = 40) -> None:
    """Two turns per conversation; the first reply rated good, the second bad; one opted-out user."""
    for c in range(conversations):
        user = "optout-user" if c == 0 else f"u{c % 5}"
        for turn, score in ((0, 1.0), (1, -1.0)):
            text = f"question {turn} in {c}, mail me at person{c}@example.com"
            message = Message("test", f"conv{c}", user, text, time=1000.0 + c * 10 + turn)
            await store.record_inbound(message)  # type: ignore[attr-defined]
            reply = Reply(message.id, message.conversation_id, "test", f"answer {turn} call 555-123-4567",
                          "generator:onnx", model_version="m1", time=message.time + 1)
            await store.record_reply(message, reply)  # type: ignore[attr-defined]
            await store.add_feedback(Feedback(reply.id, message.conversation_id, user, score,  # type: ignore[attr-defined]
                                              time=message.time + 2))
        skill = Message("test", f"conv{c}", user, "what time is it", time=1000.0 + c * 10 + 5)
        await store.record_inbound(skill)  # type: ignore[attr-defined]
        await store.record_reply(skill, Reply(skill.id, skill.conversation_id, "test", "noon",  # type: ignore[attr-defined]
                                              "skill:clock", time=skill.time + 1))
    await store.set_opt_out("optout-user", True)  # type: ignore[attr-defined]


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_export_writes_a_redacted_versioned_dataset(tmp_path: Path, store_kind: str) -> None:
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    await fill(store)
    options = ExportOptions(golden_fraction=0.25, min_golden=4)
    first = await export_dataset(store, tmp_path / "datasets", options)
    second = await export_dataset(store, tmp_path / "datasets", options)
    await store.close()
    assert (first.name, second.name) == ("v0001", "v0002") and latest(tmp_path / "datasets") == second
    meta = json.loads((first / "dataset.json").read_text())
    rows = read_jsonl(first / "feedback.jsonl")
    sft = read_jsonl(first / "sft.jsonl")
    key = pseudonym_key(tmp_path / "datasets")
    names = {pseudonym(key, f"conv{c}"): f"conv{c}" for c in range(40)}
    trained = {names[r["conversation_id"]] for r in rows}
    assert pseudonym(key, "conv0") not in meta["conversations"] and "conv0" not in trained  # opted out
    assert {names[c] for c in meta["conversations"]} >= trained
    assert not any(held_out(c, 0.25) for c in trained)
    golden = read_jsonl(tmp_path / "datasets" / "golden" / "golden.jsonl")
    assert golden and all(held_out(names[r["conversation_id"]], 0.25) for r in golden)
    assert {r["label"] for r in golden} == {True, False}
    assert len(rows) == 2 * len(trained) and all(r["label"] for r in sft) and len(sft) == len(trained)
    text = (first / "feedback.jsonl").read_text() + (first / "unlabeled.csv").read_text()
    assert "@example.com" not in text and "555-123-4567" not in text and EMAIL in text and PHONE in text
    assert meta["redactions"][EMAIL] > 0 and meta["excluded_users"] == 1
    assert all(r["context"][-1]["role"] == "user" for r in rows)
    second_turns = [r for r in rows if r["context"][-1]["content"].startswith("question 1")]
    assert second_turns and all(len(r["context"]) == 3 for r in second_turns)  # earlier turn included
    with (first / "unlabeled.csv").open() as handle:
        utterances = [row["text"] for row in csv.DictReader(handle)]
    assert "what time is it" in utterances and all("@" not in u for u in utterances)
    assert not any("noon" in r["reply"] for r in rows)  # skill replies are not the generator's


async def test_one_person_repeating_a_vote_neither_starts_training_nor_outvotes(tmp_path: Path) -> None:
    from interplay.trainer.datasets.export import aggregate
    from interplay.trainer.loop.runner import new_feedback

    store = MemoryStore()
    for i in range(500):
        await store.add_feedback(Feedback("r1", "c1", "stuffer", 1.0, channel="t", time=10.0 + i))
    await store.add_feedback(Feedback("r1", "c1", "stuffer", 0.5, kind="implicit:thanks", channel="t"))
    for user in ("a", "b"):
        await store.add_feedback(Feedback("r1", "c1", user, -1.0, channel="t"))
    assert await new_feedback(store, tmp_path) == 3  # three people voted on one reply
    legacy = [Feedback("r2", "c2", "stuffer", 1.0, time=float(i)) for i in range(500)]
    legacy += [Feedback("r2", "c2", u, -1.0, time=600.0) for u in ("a", "b")]
    score, _, _ = aggregate(legacy)["r2"]  # rows stored before one-vote-per-person still count once
    assert score == pytest.approx(-1 / 3)


async def test_an_opt_out_covers_that_channels_user_only(tmp_path: Path) -> None:
    from interplay.trainer.datasets.export import ExportOptions, collect

    store = MemoryStore()
    for channel in ("telegram", "slack"):  # the same id on two channels is two people
        message = Message(channel, f"{channel}-c", "42", f"hello from {channel}")
        await store.record_inbound(message)
        await store.record_reply(message, Reply(message.id, message.conversation_id, channel, "hi",
                                                "generator:onnx"))
    await store.set_opt_out("telegram:42", True)
    collected = await collect(store, ExportOptions())
    assert [text for _, _, text in collected.utterances] == ["hello from slack"]
