"""Versioned schema: migration N brings `PRAGMA user_version` from N to N+1."""

from __future__ import annotations

import sqlite3

from ..errors import StoreError

MIGRATIONS: list[str] = [
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        reset_at REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE dedupe_keys (
        channel TEXT NOT NULL,
        key TEXT NOT NULL,
        time REAL NOT NULL,
        PRIMARY KEY (channel, key)
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        external_id TEXT,
        text TEXT NOT NULL,
        time REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        annotations TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, time);
    CREATE INDEX messages_by_user ON messages (user_id);
    CREATE INDEX messages_received ON messages (status) WHERE status = 'received';
    CREATE TABLE replies (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL,
        model_version TEXT,
        time REAL NOT NULL,
        latency TEXT NOT NULL DEFAULT '{}',
        external_id TEXT
    );
    CREATE INDEX replies_by_conversation ON replies (conversation_id, time);
    CREATE INDEX replies_by_external_id ON replies (channel, external_id) WHERE external_id IS NOT NULL;
    CREATE TABLE feedback (
        id TEXT PRIMARY KEY,
        reply_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        score REAL NOT NULL,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        model_version TEXT,
        weight REAL NOT NULL,
        time REAL NOT NULL
    );
    CREATE INDEX feedback_by_reply ON feedback (reply_id);
    """,
    # 2: users who asked (/optout) that their conversations stay out of training data
    """
    CREATE TABLE opt_outs (
        user_id TEXT PRIMARY KEY,
        time REAL NOT NULL
    );
    CREATE INDEX replies_by_message ON replies (message_id);
    """,
    # 3: what a multi-turn skill waits for, per person in a conversation (core/dialogue.py)
    """
    CREATE TABLE dialogue_state (
        conversation_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        time REAL NOT NULL,
        PRIMARY KEY (conversation_id, user_id, name)
    ) WITHOUT ROWID;
    CREATE INDEX dialogue_state_by_user ON dialogue_state (user_id);
    """,
    # 4: one vote per (reply, user, kind), the latest wins (a 500-times pressed button is one vote)
    """
    DELETE FROM feedback WHERE EXISTS (
        SELECT 1 FROM feedback later WHERE later.reply_id = feedback.reply_id
        AND later.user_id = feedback.user_id AND later.kind = feedback.kind
        AND (later.time > feedback.time OR (later.time = feedback.time AND later.rowid > feedback.rowid))
    );
    CREATE UNIQUE INDEX feedback_vote ON feedback (reply_id, user_id, kind);
    """,
    # 5: tombstones of people forgotten (a hash of "channel:user id", never the id), see core/privacy.py
    """
    CREATE TABLE forgotten (
        tombstone TEXT PRIMARY KEY,
        time REAL NOT NULL
    );
    CREATE INDEX messages_by_user_channel ON messages (user_id, channel);
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations in one transaction each; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the store was written by a newer Interplay (schema {version}, this one knows "
            f"{len(MIGRATIONS)}): upgrade Interplay or point store.path at another file"
        )
    for number in range(version, len(MIGRATIONS)):
        conn.executescript(f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")
    return len(MIGRATIONS)
