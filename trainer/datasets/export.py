"""`interplay data export`: versioned training datasets from the conversation store.

A dataset directory `<data_dir>/datasets/v0001/` holds:

- `sft.jsonl`       context -> a generator reply people rated good (supervised fine-tuning)
- `feedback.jsonl`  context, reply and a good/bad label with its weight (the KTO-style loss)
- `unlabeled.csv`   user utterances (column `text`) for GAN-BERT
- `dataset.json`    version, counts, options, redactions and the conversation ids it used

Every text is redacted (trainer/datasets/redact.py) and opted-out users are left out. Conversation
and user ids are written as pseudonyms: a keyed hash (HMAC-SHA256) with a key kept beside the
datasets (`<data_dir>/datasets/.pseudonym-key`, mode 0600), so a dataset that leaves the machine
does not carry Telegram or Slack ids, while `/forget` can still find a person's rows. A stable
hash of the conversation id keeps a fraction of conversations out of training: the first export
that has enough of them freezes them as the golden set (`<data_dir>/datasets/golden/`) the gate
compares models on; later held-out conversations are never trained on either.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from interplay.core import Feedback, Message, Reply
from interplay.core.privacy import person as person_name
from interplay.core.privacy import pseudonym, pseudonym_key
from interplay.core.store import ConversationStore

from .redact import Redactor

GOLDEN = "golden"
FORMAT = 2  # 2: ids are pseudonyms, rows name the pseudonyms of their people (for /forget)


@dataclass(frozen=True)
class ExportOptions:
    """What goes into a dataset."""

    context_turns: int = 4  # earlier turns kept before each reply
    min_weight: float = 0.25  # total feedback weight a reply needs to count as labeled
    golden_fraction: float = 0.1  # conversations held out for the gate (by a stable hash)
    min_golden: int = 8  # labeled replies the held-out part needs before it is frozen as golden
    sources: tuple[str, ...] = ("generator:",)  # replies whose source starts so are trainable


@dataclass
class Example:
    """One rated generator reply in its context."""

    conversation_id: str
    reply_id: str
    context: list[dict[str, str]]  # chat messages, oldest first, ending with the user's message
    reply: str
    score: float  # weighted mean feedback score, -1..1
    weight: float  # total feedback weight, capped at 1
    model_version: str | None
    kinds: list[str] = field(default_factory=list)
    user: str = ""  # "channel:user id" in the store; its pseudonym once written
    context_users: list[str] = field(default_factory=list)  # whose turn each context entry is (or answers)

    @property
    def good(self) -> bool:
        return self.score > 0


@dataclass
class Collected:
    """What the export takes from the store, before redaction."""

    examples: list[Example]
    utterances: list[tuple[str, str, str]]  # (conversation id, "channel:user id", user text)
    conversations: set[str]
    feedback_count: int
    last_feedback_time: float
    excluded_users: int


def held_out(conversation_id: str, fraction: float) -> bool:
    """A stable choice: the same conversation is held out in every export."""
    digest = hashlib.sha256(conversation_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def aggregate(feedback: Iterable[Feedback]) -> dict[str, tuple[float, float, list[str]]]:
    """Per reply: weighted mean score, total weight (capped at 1) and the kinds of feedback.

    Each person has one vote per reply and kind, their latest (stores keep it so; this also holds
    for feedback stored before they did).
    """
    votes = {(f.reply_id, f.channel, f.user_id, f.kind): f for f in sorted(feedback, key=lambda f: f.time)}
    sums: dict[str, list[Any]] = defaultdict(lambda: [0.0, 0.0, set()])
    for f in votes.values():
        entry = sums[f.reply_id]
        entry[0] += f.score * f.weight
        entry[1] += f.weight
        entry[2].add(f.kind)
    return {
        rid: (s / w if w else 0.0, min(1.0, w), sorted(kinds)) for rid, (s, w, kinds) in sums.items()
    }


def _trainable(reply: Reply | None, options: ExportOptions) -> bool:
    return reply is not None and reply.source.startswith(options.sources)


async def collect(store: ConversationStore, options: ExportOptions) -> Collected:
    """Read exchanges, feedback and opt-outs; build the rated examples in their context."""
    opted_out = await store.opted_out()
    feedback = await store.feedback_for()
    rated = aggregate(f for f in feedback if not _excluded(opted_out, f.channel, f.user_id))
    turns: dict[str, list[tuple[dict[str, str], str]]] = defaultdict(list)  # (entry, whose)
    examples, utterances, used = [], [], set()
    for message, reply in await store.exchanges():
        if _excluded(opted_out, message.channel, message.user_id) or await store.forgotten(message):
            continue
        history = turns[message.conversation_id]
        if reply is None and message.text.lstrip().startswith("/"):
            continue  # a chat command, not conversation
        who = person(message)
        utterances.append((message.conversation_id, who, message.text))
        used.add(message.conversation_id)
        earlier = history[-options.context_turns:]
        asked = {"role": "user", "content": message.text}
        context = [*(entry for entry, _ in earlier), asked]
        if reply is not None:
            history.extend([(asked, who), ({"role": "assistant", "content": reply.text}, who)])
        example = _example(message, reply, context, rated, options)
        if example is not None:
            example.context_users = [*(whose for _, whose in earlier), who]
            examples.append(example)
    return Collected(examples, utterances, used, len(feedback),
                     max((f.time for f in feedback), default=0.0), len(opted_out))


def _excluded(opted_out: set[str], channel: str, user_id: str) -> bool:
    """Opt-outs name "channel:user id" (/optout); a bare id, as older stores hold, counts on any channel."""
    return person_name(channel, user_id) in opted_out or user_id in opted_out


def _example(message: Message, reply: Reply | None, context: list[dict[str, str]],
             rated: dict[str, tuple[float, float, list[str]]], options: ExportOptions) -> Example | None:
    if reply is None or not _trainable(reply, options) or reply.id not in rated:
        return None
    score, weight, kinds = rated[reply.id]
    if weight < options.min_weight or score == 0:
        return None
    return Example(message.conversation_id, reply.id, context, reply.text, score, weight,
                   reply.model_version, kinds, person(message))


def person(message: Message) -> str:
    """Who wrote a message, as /forget names them: the channel and that channel's user id."""
    return person_name(message.channel, message.user_id)


def redacted(example: Example, redactor: Redactor, key: bytes) -> Example:
    context = [{"role": m["role"], "content": redactor(m["content"])} for m in example.context]
    return Example(pseudonym(key, example.conversation_id), example.reply_id, context,
                   redactor(example.reply), example.score, example.weight, example.model_version,
                   example.kinds, pseudonym(key, example.user),
                   [pseudonym(key, who) for who in example.context_users])


def next_version(root: Path) -> Path:
    """`root/v0001`, `root/v0002`, ...: the next free dataset directory."""
    numbers = [int(p.name[1:]) for p in root.glob("v[0-9]*") if p.name[1:].isdigit()]
    return root / f"v{max(numbers, default=0) + 1:04d}"


def latest(root: Path) -> Path | None:
    """The newest complete dataset directory, if any."""
    done = sorted((p for p in root.glob("v[0-9]*") if (p / "dataset.json").is_file()), key=lambda p: p.name)
    return done[-1] if done else None


def _private(path: Path) -> int:
    """A file descriptor for writing `path`, readable by this user only (datasets hold what people wrote)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with os.fdopen(_private(path), "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _row(example: Example) -> dict[str, Any]:
    row = asdict(example)
    row["label"] = example.good
    return row


def write_dataset(collected: Collected, root: Path, options: ExportOptions) -> Path:
    """Redact, split off held-out conversations, and write the next dataset version."""
    redactor = Redactor()
    key = pseudonym_key(root)
    train = [redacted(e, redactor, key) for e in collected.examples
             if not held_out(e.conversation_id, options.golden_fraction)]
    heldout = [redacted(e, redactor, key) for e in collected.examples
               if held_out(e.conversation_id, options.golden_fraction)]
    out = next_version(root)
    staging = out.with_name(f".{out.name}-staging")
    staging.mkdir(parents=True, exist_ok=True, mode=0o700)
    counts = {
        "sft": write_jsonl(staging / "sft.jsonl", (_row(e) for e in train if e.good)),
        "feedback": write_jsonl(staging / "feedback.jsonl", (_row(e) for e in train)),
        "unlabeled": _write_utterances(staging / "unlabeled.csv", collected.utterances, redactor, key,
                                       options),
        "held_out": len(heldout),
    }
    golden = freeze_golden(root, heldout, options)
    meta = {
        "format": FORMAT,
        "version": out.name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": counts,
        "conversations": sorted({e.conversation_id for e in train}
                                | {pseudonym(key, c) for c in _utterance_conversations(collected)}),
        "feedback_items": collected.feedback_count,
        "last_feedback_time": collected.last_feedback_time,
        "excluded_users": collected.excluded_users,
        "redactions": dict(redactor.counts),
        "golden": str(golden) if golden else None,
        "options": asdict(options),
    }
    with os.fdopen(_private(staging / "dataset.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(meta, indent=2) + "\n")
    staging.rename(out)  # a dataset directory is complete or absent
    return out


def _utterance_conversations(collected: Collected) -> set[str]:
    return {c for c, _, _ in collected.utterances}


def _write_utterances(path: Path, utterances: list[tuple[str, str, str]], redactor: Redactor, key: bytes,
                      options: ExportOptions) -> int:
    with os.fdopen(_private(path), "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "user"])
        rows = 0
        for conversation, user, text in utterances:
            if not held_out(conversation, options.golden_fraction) and text.strip():
                writer.writerow([redactor(text), pseudonym(key, user)])
                rows += 1
    return rows


def freeze_golden(root: Path, heldout: list[Example], options: ExportOptions) -> Path | None:
    """The frozen golden set: written once, when the held-out part first has enough examples."""
    golden = root / GOLDEN
    if (golden / "golden.jsonl").is_file():
        return golden
    if len(heldout) < options.min_golden or not any(e.good for e in heldout):
        return None
    golden.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_jsonl(golden / "golden.jsonl", (_row(e) for e in heldout))
    return golden


async def export_dataset(store: ConversationStore, root: Path, options: ExportOptions | None = None) -> Path:
    """Collect from the store and write the next dataset version under `root`."""
    options = options or ExportOptions()
    return write_dataset(await collect(store, options), root, options)
