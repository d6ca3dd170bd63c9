"""Pseudonyms, tombstones and dataset purges: what `/forget` needs beyond the store.

Training datasets (`<data_dir>/datasets/`, written by `interplay data export`) name people only by
a keyed hash of "channel:user id" (`pseudonym`), with the key kept beside them. `/forget` computes
the same pseudonym and removes that person's rows, and their turns from other rows' context, from
every dataset version and the golden set (`purge_datasets`). A tombstone (`tombstone`) is a plain
hash of the same name: stores keep it with the time of the forget, so a message the person sent
before it, still queued or in flight, is dropped instead of answered and stored again.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .messages import Message

log = logging.getLogger("interplay.privacy")
KEY_FILE = ".pseudonym-key"
DATASET_FILES = ("sft.jsonl", "feedback.jsonl")


def person(channel: str | None, user_id: str) -> str:
    """How a person is named everywhere: by the channel and that channel's user id."""
    return f"{channel or '*'}:{user_id}"


def tombstone(name: str) -> str:
    """The key a store keeps after a forget: a hash, so the user id itself is not stored again."""
    return hashlib.sha256(("interplay-forgotten:" + name).encode()).hexdigest()


def tombstones_of(message: Message) -> tuple[str, str]:
    """The tombstones that cover a message: its sender on its channel, and on every channel."""
    return tombstone(person(message.channel, message.user_id)), tombstone(person(None, message.user_id))


def forgotten_in(tombstones: Mapping[str, float], message: Message) -> bool:
    """Whether one of `tombstones` (tombstone -> when) was left after `message` was sent."""
    return any(message.time <= when for key in tombstones_of(message)
               if (when := tombstones.get(key)) is not None)


def pseudonym_key(root: Path) -> bytes:
    """The key of the keyed hash for dataset ids, created (mode 0600) with the first dataset."""
    path = root / KEY_FILE
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = path.with_suffix(".tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        os.replace(staging, path)
    return bytes.fromhex(path.read_text().strip())


def pseudonym(key: bytes, value: str) -> str:
    """A stable id that cannot be turned back into `value` without the key."""
    return "p" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def purge_datasets(root: Path, name: str) -> tuple[int, int]:
    """Remove a person from every dataset under `root`: (rows or turns removed, files left unsure).

    Files written before datasets named their people (format 1) cannot be searched by person;
    they are counted as unsure and logged, never silently kept.
    """
    if not (root / KEY_FILE).is_file():
        return 0, 0
    who = pseudonym(pseudonym_key(root), name)
    removed = unsure = 0
    for path in sorted(root.glob("*/*.jsonl")):
        if path.name in (*DATASET_FILES, "golden.jsonl"):
            gone, legacy = _purge_jsonl(path, who)
            removed, unsure = removed + gone, unsure + legacy
    for path in sorted(root.glob("*/unlabeled.csv")):
        gone, legacy = _purge_csv(path, who)
        removed, unsure = removed + gone, unsure + legacy
    if unsure:
        log.warning("%d dataset file(s) under %s predate per-person rows and could not be purged: "
                    "delete them or export afresh", unsure, root)
    return removed, unsure


def _purge_jsonl(path: Path, who: str) -> tuple[int, int]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any("user" not in row for row in rows):
        return 0, 1
    kept, removed = [], 0
    for row in rows:
        if row["user"] == who:
            removed += 1
            continue
        owners = row.get("context_users", [])
        if who in owners:  # their turns (and the replies to them) in someone else's context
            pairs = [(c, o) for c, o in zip(row["context"], owners, strict=True) if o != who]
            removed += len(owners) - len(pairs)
            row["context"], row["context_users"] = [c for c, _ in pairs], [o for _, o in pairs]
        kept.append(row)
    if removed:
        _rewrite(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return removed, 0


def _purge_csv(path: Path, who: str) -> tuple[int, int]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys()) if rows else []
    if rows and "user" not in fields:
        return 0, 1
    kept = [r for r in rows if r["user"] != who]
    if len(kept) == len(rows):
        return 0, 0
    _rewrite_csv(path, fields, kept)
    return len(rows) - len(kept), 0


def _rewrite_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    staging = path.with_name(path.name + ".tmp")
    with staging.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        writer.writerows(rows)
    os.chmod(staging, 0o600)
    os.replace(staging, path)


def _rewrite(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(staging, path)
