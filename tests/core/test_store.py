"""The SQLite store: schema migrations, durability, history, dedupe and feedback."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from interplay.core import Feedback, Message, Reply, StoreError
from interplay.core.store import MemoryStore, SQLiteStore, Status
from interplay.core.store.migrations import MIGRATIONS


@pytest.fixture(params=["sqlite", "memory"])
async def store(request, tmp_path):
    s = SQLiteStore(tmp_path / "s.sqlite3") if request.param == "sqlite" else MemoryStore()
    await s.open()
    yield s
    await s.close()


def msg(text, conv="c", **kw):
    return Message("test", conv, "u", text, **kw)


async def answer(store, message, text):
    reply = Reply(
        message.id,
        message.conversation_id,
        "test",
        text,
        "generator:x",
        model_version="v1",
        external_id=f"ext-{text}",
    )
    await store.record_reply(message, reply)
    return reply


async def test_history_is_oldest_first_limited_and_reset(store):
    for i in range(5):
        m = msg(f"q{i}")
        assert await store.record_inbound(m)
        await answer(store, m, f"a{i}")
    turns = await store.history("c", 4)
    assert [(t.role, t.text) for t in turns] == [
        ("user", "q3"),
        ("assistant", "a3"),
        ("user", "q4"),
        ("assistant", "a4"),
    ]
    await store.reset("c")
    assert await store.history("c", 4) == ()


async def test_dedupe_keys_and_replies_by_external_id(store):
    m = msg("hi", external_id="7")
    assert await store.record_inbound(m)
    assert not await store.record_inbound(msg("hi again", external_id="7"))
    assert not await store.seen("test", "cb-1") and await store.seen("test", "cb-1")
    reply = await answer(store, m, "hello")
    assert (await store.reply_by_external_id("test", "ext-hello")).id == reply.id
    assert (await store.last_reply("c")).text == "hello"


async def test_pending_lists_only_messages_never_started(store):
    a, b, c = msg("a"), msg("b"), msg("c")
    for m in (a, b, c):
        await store.record_inbound(m)
    await store.set_status(b.id, Status.REPLYING)  # a reply may have gone out: never replay
    await answer(store, c, "done")
    assert [m.text for m in await store.pending()] == ["a"]


async def test_feedback_round_trip_and_forget_user(store):
    m = msg("x")
    await store.record_inbound(m)
    reply = await answer(store, m, "y")
    await store.add_feedback(Feedback(reply.id, "c", "u", -1.0, model_version="v1"))
    assert [(f.score, f.model_version) for f in await store.feedback_for([reply.id])] == [(-1.0, "v1")]
    assert await store.forget_user("u") == 1
    assert await store.feedback_for() == [] and await store.history("c", 10) == ()


async def test_dialogue_state_per_person_cleared_by_reset_and_forget_user(store):
    await store.save_state("c", "u", "weather", {"asking": "place", "values": {"time": ["today"]}})
    await store.save_state("c", "v", "weather", {"asking": "time"})
    await store.save_state("d", "u", "weather", {"asking": "place"})
    assert await store.load_state("c", "u", "weather") == {"asking": "place", "values": {"time": ["today"]}}
    assert (await store.load_state("c", "v", "weather"))["asking"] == "time"
    assert await store.load_state("c", "u", "other") is None
    await store.save_state("c", "v", "weather", None)
    assert await store.load_state("c", "v", "weather") is None
    await store.reset("c")
    assert await store.load_state("c", "u", "weather") is None
    assert await store.load_state("d", "u", "weather") == {"asking": "place"}
    await store.forget_user("u")
    assert await store.load_state("d", "u", "weather") is None


async def test_dialogue_state_survives_reopening_the_file(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    await store.save_state("c", "u", "weather", {"asking": "place"})
    await store.close()
    again = SQLiteStore(tmp_path / "s.sqlite3")
    await again.open()
    assert await again.load_state("c", "u", "weather") == {"asking": "place"}
    await again.close()


async def test_an_awaited_write_is_on_disk_when_the_await_returns(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    m = msg("durable")
    await store.record_inbound(m)
    other = sqlite3.connect(tmp_path / "s.sqlite3")  # a second connection sees committed data only
    assert other.execute("SELECT text, status FROM messages").fetchall() == [("durable", "received")]
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await store.close()


async def test_concurrent_writes_share_commits(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    results = await asyncio.gather(
        *(store.record_inbound(msg(str(i), external_id=str(i % 50))) for i in range(200))
    )
    assert sum(results) == 50
    await store.close()


async def test_schema_version_is_recorded_and_a_newer_file_is_refused(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    await store.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    with pytest.raises(StoreError, match="newer Interplay"):
        await SQLiteStore(tmp_path / "s.sqlite3").open()


async def test_an_unwritable_path_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"check store\.path"):
        await SQLiteStore(blocker / "s.sqlite3").open()


async def test_one_vote_per_reply_user_and_kind_the_latest_wins(store):
    m = msg("x")
    await store.record_inbound(m)
    reply = await answer(store, m, "y")
    for i in range(50):  # /good fifty times, then /bad
        await store.add_feedback(Feedback(reply.id, "c", "u", 1.0, time=1000.0 + i))
    await store.add_feedback(Feedback(reply.id, "c", "u", -1.0, time=2000.0))
    await store.add_feedback(Feedback(reply.id, "c", "someone else", 1.0, time=2001.0))
    await store.add_feedback(Feedback(reply.id, "c", "u", 0.5, kind="implicit:thanks", time=2002.0))
    votes = sorted((f.user_id, f.kind, f.score) for f in await store.feedback_for())
    assert votes == [
        ("someone else", "explicit", 1.0), ("u", "explicit", -1.0), ("u", "implicit:thanks", 0.5)
    ]


async def test_migration_keeps_the_latest_of_earlier_duplicate_votes(tmp_path):
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    votes = next(i for i, sql in enumerate(MIGRATIONS) if "feedback_vote" in sql)  # the schema before it
    conn.executescript(f"BEGIN; {'; '.join(MIGRATIONS[:votes])}; PRAGMA user_version = {votes}; COMMIT;")
    rows = [(f"f{i}", "r1", "c", "u", 1.0 if i < 9 else -1.0, "explicit", "t", None, 1.0, float(i))
            for i in range(10)]
    conn.executemany("INSERT INTO feedback VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    assert [(f.user_id, f.score) for f in await store.feedback_for()] == [("u", -1.0)]
    await store.close()
