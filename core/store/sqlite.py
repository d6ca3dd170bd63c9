"""The default store: one SQLite file in WAL mode, written with group commits.

All SQLite work runs on one dedicated thread. Writes queue up while a transaction is being
committed and go out together in the next one, so many conversations share each fsync, and
every awaited write is durable when the await returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StoreError
from ..messages import Annotation, Feedback, Message, Reply, Turn
from ..privacy import forgotten_in, person, tombstone
from .base import ConversationStore, Status
from .migrations import migrate

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]


def _dump_annotations(annotations: Any) -> str:
    return json.dumps(
        {
            k: {"label": a.label, "confidence": a.confidence, "top": a.top, "data": dict(a.data)}
            for k, a in annotations.items()
        },
        default=str,
    )


def _load_annotations(raw: str | None) -> dict[str, Annotation]:
    if not raw:
        return {}
    return {
        k: Annotation(k, v["label"], v["confidence"], tuple(map(tuple, v["top"])), v.get("data", {}))
        for k, v in json.loads(raw).items()
    }


class SQLiteStore(ConversationStore):
    """Conversations in a SQLite file; a small write-through cache serves recent history."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", cache_conversations: int = 10_000) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="interplay-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._writes: list[tuple[Op, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._cache: OrderedDict[str, deque[Turn]] = OrderedDict()
        self._cache_size = cache_conversations
        self._cache_turns = 0
        self._tombstones: dict[str, float] = {}
        self._inode = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite's -wal/-shm copy its mode
            await self._run(self._connect)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc} (check store.path)") from None

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not left in free pages
        migrate(conn)
        self._tombstones = dict(conn.execute("SELECT tombstone, time FROM forgotten").fetchall())
        self._inode = os.stat(self.path).st_ino
        self._conn = conn

    async def ping(self) -> None:
        """The file is still the one opened, and a write transaction can start (not cached history)."""
        await self._run(self._ping)

    def _ping(self) -> None:
        conn = self._conn
        if conn is None:
            raise StoreError("the store is closed")
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            inode = None
        if inode != self._inode:  # writes would go to an unlinked file and be lost at the next start
            raise StoreError(f"{self.path} was replaced or deleted while the bot ran: restart it")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")

    async def close(self) -> None:
        while self._writes or (self._flusher and not self._flusher.done()):
            if self._flusher and not self._flusher.done():
                await asyncio.shield(self._flusher)
            elif self._writes:
                self._schedule_flush()
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    # -- plumbing --------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _read(self, op: Op) -> Any:
        return await self._run(op, self._conn)

    def _write(self, op: Op) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._writes.append((op, future))
        self._schedule_flush()
        return future

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._writes:
            batch, self._writes = self._writes, []
            try:
                results = await self._run(self._commit, [op for op, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    def _commit(self, ops: list[Op]) -> list[Any]:
        conn = self._conn
        assert conn is not None, "store not open"
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = [op(conn) for op in ops]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return results

    # -- dedupe and messages ---------------------------------------------------------------
    async def seen(self, channel: str, key: str) -> bool:
        return bool(await self._write(lambda c: _insert_key(c, channel, key)))

    async def record_inbound(self, message: Message) -> bool:
        row = (
            message.id,
            message.conversation_id,
            message.channel,
            message.user_id,
            message.external_id,
            message.text,
            message.time,
            json.dumps(dict(message.meta), default=str),
            Status.RECEIVED.value,
        )

        def op(conn: sqlite3.Connection) -> bool:
            if message.external_id is not None and _insert_key(conn, message.channel, message.external_id):
                return False
            conn.execute(
                "INSERT INTO messages (id, conversation_id, channel, user_id, external_id, text, time,"
                " meta, status) VALUES (?,?,?,?,?,?,?,?,?)",
                row,
            )
            return True

        return bool(await self._write(op))

    async def set_status(self, message_id: str, status: Status) -> None:
        await self._write(
            lambda c: c.execute("UPDATE messages SET status=? WHERE id=?", (status.value, message_id))
        )

    async def record_reply(self, message: Message, reply: Reply) -> None:
        annotations = _dump_annotations(message.annotations)
        row = (
            reply.id,
            reply.message_id,
            reply.conversation_id,
            reply.channel,
            reply.text,
            reply.source,
            reply.model_version,
            reply.time,
            json.dumps(dict(reply.latency)),
            reply.external_id,
        )

        def op(conn: sqlite3.Connection) -> None:
            done = conn.execute(
                "UPDATE messages SET status='done', annotations=? WHERE id=?", (annotations, message.id)
            )
            if done.rowcount:  # none: the sender was forgotten while it was answered, keep nothing
                conn.execute("INSERT INTO replies VALUES (?,?,?,?,?,?,?,?,?,?)", row)

        cached = self._cache.get(message.conversation_id)
        if forgotten_in(self._tombstones, message):
            cached = None
        if cached is not None:
            cached.append(Turn("user", message.text, message.id, message.time, message.annotations))
            cached.append(Turn("assistant", reply.text, reply.id, reply.time))
        await self._write(op)

    async def pending(self) -> list[Message]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT id, conversation_id, channel, user_id, external_id, text, time, meta"
                " FROM messages WHERE status='received' ORDER BY time"
            ).fetchall()
        )
        return [
            Message(
                channel=r[2],
                conversation_id=r[1],
                user_id=r[3],
                text=r[5],
                external_id=r[4],
                id=r[0],
                time=r[6],
                meta=json.loads(r[7]),
            )
            for r in rows
        ]

    # -- history ---------------------------------------------------------------------------
    async def history(self, conversation_id: str, limit: int) -> tuple[Turn, ...]:
        if limit <= 0:
            return ()
        cached = self._cache.get(conversation_id)
        if cached is None or cached.maxlen is None or cached.maxlen < limit:
            await self._flush_pending()
            turns = await self._read(lambda c: _load_history(c, conversation_id, limit))
            cached = deque(turns, maxlen=max(limit, self._cache_turns))
            self._cache_turns = cached.maxlen or limit
            self._cache[conversation_id] = cached
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(conversation_id)
        return tuple(cached)[-limit:]

    async def _flush_pending(self) -> None:
        if self._writes:
            self._schedule_flush()
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def reset(self, conversation_id: str) -> None:
        self._cache.pop(conversation_id, None)
        now = time.time()
        await self._write(
            lambda c: c.execute(
                "INSERT INTO conversations (id, reset_at) VALUES (?, ?)"
                " ON CONFLICT(id) DO UPDATE SET reset_at=excluded.reset_at",
                (conversation_id, now),
            )
        )
        await self._write(
            lambda c: c.execute("DELETE FROM dialogue_state WHERE conversation_id=?", (conversation_id,))
        )

    async def load_state(self, conversation_id: str, user_id: str, name: str) -> dict[str, Any] | None:
        await self._flush_pending()
        row = await self._read(
            lambda c: c.execute(
                "SELECT state FROM dialogue_state WHERE conversation_id=? AND user_id=? AND name=?",
                (conversation_id, user_id, name),
            ).fetchone()
        )
        return json.loads(row[0]) if row else None

    async def save_state(
        self, conversation_id: str, user_id: str, name: str, state: Mapping[str, Any] | None
    ) -> None:
        key = (conversation_id, user_id, name)
        if state is None:
            sql = "DELETE FROM dialogue_state WHERE conversation_id=? AND user_id=? AND name=?"
            args: tuple[Any, ...] = key
        else:
            sql = "INSERT OR REPLACE INTO dialogue_state VALUES (?,?,?,?,?)"
            args = (*key, json.dumps(dict(state)), time.time())
        await self._write(lambda c: c.execute(sql, args))

    # -- replies and feedback --------------------------------------------------------------
    async def get_reply(self, reply_id: str) -> Reply | None:
        row = await self._read(lambda c: c.execute(_REPLY_SELECT + " WHERE id=?", (reply_id,)).fetchone())
        return _reply(row) if row else None

    async def reply_by_external_id(self, channel: str, external_id: str) -> Reply | None:
        await self._flush_pending()
        row = await self._read(
            lambda c: c.execute(
                _REPLY_SELECT + " WHERE channel=? AND external_id=?", (channel, external_id)
            ).fetchone()
        )
        return _reply(row) if row else None

    async def last_reply(self, conversation_id: str) -> Reply | None:
        await self._flush_pending()
        row = await self._read(
            lambda c: c.execute(
                _REPLY_SELECT + " WHERE conversation_id=? ORDER BY time DESC LIMIT 1", (conversation_id,)
            ).fetchone()
        )
        return _reply(row) if row else None

    async def add_feedback(self, feedback: Feedback) -> None:
        f = feedback
        row = (
            f.id,
            f.reply_id,
            f.conversation_id,
            f.user_id,
            f.score,
            f.kind,
            f.channel,
            f.model_version,
            f.weight,
            f.time,
        )
        await self._write(lambda c: c.execute(_VOTE, row))

    async def feedback_for(self, reply_ids: Iterable[str] | None = None) -> list[Feedback]:
        wanted = None if reply_ids is None else list(reply_ids)

        def op(conn: sqlite3.Connection) -> list[Any]:
            sql = (
                "SELECT reply_id, conversation_id, user_id, score, kind, channel, model_version,"
                " weight, id, time FROM feedback"
            )
            if wanted is None:
                return conn.execute(sql + " ORDER BY time").fetchall()
            marks = ",".join("?" * len(wanted))
            return conn.execute(sql + f" WHERE reply_id IN ({marks}) ORDER BY time", wanted).fetchall()

        return [Feedback(*row) for row in await self._read(op)]

    async def forget_user(self, user_id: str, channel: str | None = None) -> int:
        who, args = ("user_id=? AND channel=?", (user_id, channel)) if channel else ("user_id=?", (user_id,))
        mine = f"SELECT id FROM messages WHERE {who}"
        grave, now = tombstone(person(channel, user_id)), time.time()

        def op(conn: sqlite3.Connection) -> int:
            sql = f"SELECT DISTINCT conversation_id FROM messages WHERE {who}"
            convs = conn.execute(sql, args).fetchall()
            replies = f"SELECT id FROM replies WHERE message_id IN ({mine})"
            conn.execute(f"DELETE FROM feedback WHERE reply_id IN ({replies})", args)  # others' votes on them
            conn.execute(f"DELETE FROM replies WHERE message_id IN ({mine})", args)
            conn.execute(f"DELETE FROM feedback WHERE {who}", args)
            conn.execute("DELETE FROM dialogue_state WHERE user_id=?", (user_id,))  # no channel column
            removed = conn.execute(f"DELETE FROM messages WHERE {who}", args).rowcount
            conn.execute("INSERT OR REPLACE INTO forgotten VALUES (?, ?)", (grave, now))
            for (conv,) in convs:
                self._cache.pop(conv, None)
            return int(removed)

        self._tombstones[grave] = now  # from now on, before the commit: a reply racing it is not cached
        removed = int(await self._write(op))
        await self._run(self._checkpoint)
        return removed

    def _checkpoint(self) -> None:
        """Copy the WAL into the (securely deleted) file and empty it: no old page keeps the text."""
        assert self._conn is not None
        busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:  # another connection reads an old snapshot
            logging.getLogger("interplay.store").warning(
                "the WAL could not be emptied after a forget (another connection is reading): old pages "
                "stay in %s-wal until SQLite next overwrites them", self.path)

    async def forgotten(self, message: Message) -> bool:
        return forgotten_in(self._tombstones, message)

    # -- the learning loop -----------------------------------------------------------------
    async def set_opt_out(self, user_id: str, opted_out: bool) -> None:
        if opted_out:
            sql, args = "INSERT OR REPLACE INTO opt_outs VALUES (?, ?)", (user_id, time.time())
        else:
            sql, args = "DELETE FROM opt_outs WHERE user_id=?", (user_id,)  # type: ignore[assignment]
        await self._write(lambda c: c.execute(sql, args))

    async def opted_out(self) -> set[str]:
        rows = await self._read(lambda c: c.execute("SELECT user_id FROM opt_outs").fetchall())
        return {r[0] for r in rows}

    async def exchanges(self, since: float = 0.0) -> list[tuple[Message, Reply | None]]:
        await self._flush_pending()
        rows = await self._read(lambda c: c.execute(_EXCHANGES, (since,)).fetchall())
        return [(_exchange_message(r), _reply(r[9:]) if r[9] is not None else None) for r in rows]


_VOTE = (  # one vote per (reply, user, kind): a later one replaces it
    "INSERT INTO feedback VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (reply_id, user_id, kind) DO UPDATE SET"
    " id=excluded.id, conversation_id=excluded.conversation_id, score=excluded.score,"
    " channel=excluded.channel, model_version=excluded.model_version, weight=excluded.weight,"
    " time=excluded.time"
)
_EXCHANGES = (
    "SELECT m.id, m.conversation_id, m.channel, m.user_id, m.external_id, m.text, m.time, m.meta,"
    " m.annotations, r.message_id, r.conversation_id, r.channel, r.text, r.source, r.id, r.model_version,"
    " r.time, r.latency, r.external_id FROM messages m LEFT JOIN replies r ON r.message_id = m.id"
    " WHERE m.time > ? ORDER BY m.time"
)


def _exchange_message(r: Any) -> Message:
    return Message(
        channel=r[2], conversation_id=r[1], user_id=r[3], text=r[5], external_id=r[4], id=r[0], time=r[6],
        annotations=_load_annotations(r[8]), meta=json.loads(r[7]),
    )


def _insert_key(conn: sqlite3.Connection, channel: str, key: str) -> bool:
    """Insert a dedupe key; True if it already existed."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO dedupe_keys (channel, key, time) VALUES (?,?,?)", (channel, key, time.time())
    )
    return cur.rowcount == 0


def _load_history(conn: sqlite3.Connection, conversation_id: str, limit: int) -> list[Turn]:
    reset = conn.execute("SELECT reset_at FROM conversations WHERE id=?", (conversation_id,)).fetchone()
    since = reset[0] if reset else 0.0
    rows = conn.execute(
        "SELECT role, text, id, time, annotations FROM ("
        " SELECT 'user' AS role, text, id, time, annotations FROM messages"
        "  WHERE conversation_id=? AND status='done' AND time>?"
        " UNION ALL SELECT 'assistant', text, id, time, NULL FROM replies"
        "  WHERE conversation_id=? AND time>?)"
        " ORDER BY time DESC, role DESC LIMIT ?",
        (conversation_id, since, conversation_id, since, limit),
    ).fetchall()
    return [Turn(r[0], r[1], r[2], r[3], _load_annotations(r[4])) for r in reversed(rows)]


_REPLY_SELECT = (
    "SELECT message_id, conversation_id, channel, text, source, id, model_version, time, latency,"
    " external_id FROM replies"
)


def _reply(row: Any) -> Reply:
    return Reply(
        message_id=row[0], conversation_id=row[1], channel=row[2], text=row[3], source=row[4], id=row[5],
        model_version=row[6], time=row[7], latency=json.loads(row[8]), external_id=row[9],
    )
