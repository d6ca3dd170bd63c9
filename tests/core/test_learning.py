"""The running bot's learning side: implicit feedback, /forget, /optout, /reload and hot swap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from interplay.core import (
    Analyzer,
    Annotation,
    Conversation,
    Generator,
    Message,
    ModelError,
    ModelHome,
    PluginSettings,
    hookimpl,
)
from interplay.core import model_registry as registry
from interplay.core.signals import similarity
from interplay.core.store import MemoryStore, SQLiteStore
from interplay.testing import run_bot


class MoodAnalyzer(Analyzer):
    """A keyword sentiment analyzer standing in for the NLU plugin."""

    name = "mood"

    async def analyze(self, message: Message) -> Annotation:
        text = message.text.lower()
        if "thanks" in text or "great" in text:
            return Annotation(self.name, "positive", 0.95)
        if "useless" in text:
            return Annotation(self.name, "negative", 0.95)
        return Annotation(self.name, "positive", 0.5)  # unsure: below the confidence threshold


class VersionedSettings(PluginSettings):
    model_dir: Path | None = None
    delay: float = 0.0  # seconds between the reply's words


class VersionedGenerator(Generator):
    """Replies with the version written in its model directory; a stopped model cannot reply."""

    name = "versioned"
    Settings = VersionedSettings
    model_home = ModelHome("versioned")  # hot swap follows only plugins that say where their model is
    started_count = 0

    async def start(self) -> None:
        path = Path(self.settings.model_dir) / "version.txt"  # type: ignore[attr-defined]
        if not path.is_file():
            raise ModelError(f"no model in {path.parent}")
        self.version = path.read_text().strip()
        self.stopped = False
        VersionedGenerator.started_count += 1

    async def stop(self) -> None:
        self.stopped = True

    @property
    def model_version(self) -> str | None:
        return self.version

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        for word in ("reply", "from", self.version):
            if self.stopped:
                raise RuntimeError("a stopped model was asked for a token")
            await asyncio.sleep(self.settings.delay)  # type: ignore[attr-defined]
            yield word + " "


plugins = SimpleNamespace(
    register_analyzers=hookimpl(lambda register: register(MoodAnalyzer)),
    register_generators=hookimpl(lambda register: register(VersionedGenerator)),
)


def test_similarity_separates_rephrases_from_new_questions() -> None:
    assert similarity("where is my parcel", "where is my parcel now?") > 0.6
    assert similarity("where is my parcel", "what is the weather in Rome") < 0.3
    assert similarity("conv2 says 0", "conv2 says 1") < 0.7  # a new message in a series is no rephrase


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_next_turn_sentiment_and_rephrase_become_weak_labels(tmp_path: Path, store_kind: str) -> None:
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(tmp_path / "s.sqlite3")
    config = {"feedback": {"sentiment_analyzer": "mood"}}
    async with run_bot(plugins, analyzers=["mood"], store=store, config=config) as bot:
        first = await bot.say("where is my parcel from Berlin")
        await bot.say("where is my parcel from Berlin please")  # rephrase: the reply missed
        third = await bot.say("great, thanks a lot")  # positive about the second reply
        await bot.say("and the weather in Rome tomorrow")  # unsure sentiment, new topic: nothing
        feedback = await bot.store.feedback_for()
    kinds = {(f.kind, f.score, f.weight) for f in feedback}
    assert kinds == {("implicit:rephrase", -1.0, 0.5), ("implicit:sentiment", 1.0, 0.3)}
    by_kind = {f.kind: f for f in feedback}
    assert by_kind["implicit:rephrase"].reply_id == first.reply.id
    assert by_kind["implicit:sentiment"].reply_id != third.reply.id  # it judges the reply before


async def test_implicit_feedback_can_be_switched_off() -> None:
    config = {"feedback": {"implicit": False, "sentiment_analyzer": "mood"}}
    async with run_bot(plugins, analyzers=["mood"], config=config) as bot:
        await bot.say("hello there friend")
        await bot.say("great, thanks")
        assert await bot.store.feedback_for() == []


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_forget_deletes_the_user_and_optout_is_recorded(tmp_path: Path, store_kind: str) -> None:
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(tmp_path / "s.sqlite3")
    async with run_bot(store=store) as bot:
        await bot.say("my email is a@b.example", user="ann", conversation="c-ann")
        await bot.say("/good", user="ann", conversation="c-ann")
        await bot.say("hello", user="bob", conversation="c-bob")
        assert "optin undoes" in (await bot.say("/optout", user="bob", conversation="c-bob")).text
        assert await bot.store.opted_out() == {"fake:bob"}  # people are (channel, user)
        answer = await bot.say("/forget", user="ann", conversation="c-ann")
        assert "deleted the 3 messages you sent me on fake" in answer.text and "Not covered" in answer.text
        left = await bot.store.exchanges()
        assert {m.user_id for m, _ in left} == {"bob"}
        assert all(f.user_id != "ann" for f in await bot.store.feedback_for())
        await bot.say("/optin", user="bob", conversation="c-bob")
        assert await bot.store.opted_out() == set()


def version_root(tmp_path: Path, *versions: str) -> Path:
    root = tmp_path / "generator"
    root.mkdir()
    (root / "version.txt").write_text("v0")
    for v in versions:
        (root / "versions" / v).mkdir(parents=True)
        (root / "versions" / v / "version.txt").write_text(v)
    return root


def swap_config(root: Path, delay: float = 0.0, **loop: object) -> dict[str, object]:
    return {
        "generator": "versioned",
        "settings": {"versioned": {"model_dir": str(root), "delay": delay}},
        "config": {"loop": {"watch_interval": 0.05, **loop}, "interplay": {"admins": ["boss"]}},
    }


async def wait_for_version(bot: object, version: str) -> None:
    for _ in range(200):
        if bot.bot.generator.model_version == version:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the bot never served {version}")


async def test_promotion_is_taken_up_while_a_reply_streams_on_the_old_model(tmp_path: Path) -> None:
    root = version_root(tmp_path, "v1")
    async with run_bot(plugins, **swap_config(root, delay=0.1)) as bot:
        slow = asyncio.create_task(bot.say("tell me a story", conversation="slow"))
        await asyncio.sleep(0.05)  # the reply is streaming from v0 now
        registry.promote(root, {"id": "v1", "path": "versions/v1"})
        await wait_for_version(bot, "v1")
        old = await slow
        new = await bot.say("and now?", conversation="other")
        sent = bot.channel.sent
    assert old.text.strip() == "reply from v0" and old.reply.model_version == "v0"
    assert new.text.strip() == "reply from v1" and new.reply.model_version == "v1"
    assert len(sent) == 2 and all(r.source == "generator:versioned" for r in sent)


async def test_rollback_swaps_back_and_a_promoted_model_is_served_from_the_start(tmp_path: Path) -> None:
    root = version_root(tmp_path, "v1", "v2")
    registry.promote(root, {"id": "v1", "path": "versions/v1"})
    registry.promote(root, {"id": "v2", "path": "versions/v2"})
    async with run_bot(plugins, **swap_config(root)) as bot:
        assert (await bot.say("hi")).reply.model_version == "v2"
        assert registry.rollback(root)["id"] == "v1"
        await wait_for_version(bot, "v1")
        assert registry.rollback(root) is None  # back to the configured model
        await wait_for_version(bot, "v0")
        assert (await bot.say("hi again")).reply.model_version == "v0"
    with pytest.raises(ModelError, match="nothing to roll back"):
        registry.rollback(root)


async def test_reload_is_for_admins_and_a_broken_version_keeps_the_old_model(tmp_path: Path) -> None:
    root = version_root(tmp_path, "v1")
    (root / "versions" / "broken").mkdir()
    async with run_bot(plugins, **swap_config(root, hot_swap=True, watch_interval=3600)) as bot:
        registry.promote(root, {"id": "broken", "path": "versions/broken"})
        assert "administrators" in (await bot.say("/reload", user="eve")).text
        answer = await bot.say("/reload", user="boss")
        assert "failed to load" in answer.text and "no model" in answer.text
        assert (await bot.say("still there?")).reply.model_version == "v0"
        registry.promote(root, {"id": "v1", "path": "versions/v1"})
        assert "now serving v1" in (await bot.say("/reload", user="boss")).text
        assert (await bot.say("and now?")).reply.model_version == "v1"
