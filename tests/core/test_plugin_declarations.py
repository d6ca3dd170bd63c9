"""Core knows no built-in plugin's name: plugins declare their model home and what their labels mean."""

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
    InterplayConfig,
    Message,
    ModelError,
    ModelHome,
    PluginError,
    PluginSettings,
    hookimpl,
)
from interplay.core.model_dir import registry
from interplay.core.plugins import load_registry
from interplay.testing import run_bot


class BrainSettings(PluginSettings):
    weights: Path | None = None  # not called model_dir: hot swap must use the declared setting


class BrainGenerator(Generator[BrainSettings]):
    """Replies with the version in its model directory, found through its declared model home."""

    name = "brains"
    Settings = BrainSettings
    model_home = ModelHome("brain-store", setting="weights")

    async def start(self) -> None:
        assert self.model_home is not None
        root = self.model_home.root(self.context.config.models_dir, self.settings.weights)
        path = root / "version.txt"
        if not path.is_file():
            raise ModelError(f"no model in {root}")
        self.version = path.read_text().strip()

    @property
    def model_version(self) -> str | None:
        return self.version

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        yield f"from {self.version}"


class Gauge(Analyzer):
    """An analyzer that serves a model directory too: hot swap must call it an analyzer by its class."""

    name = "gauge"
    model_home = ModelHome("gauge")

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "x")


class Plain(Analyzer):
    name = "plain"  # no model_home: nothing for hot swap to watch

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "x")


plugins = SimpleNamespace(
    __name__="brains",
    register_generators=hookimpl(lambda register: register(BrainGenerator)),
    register_analyzers=hookimpl(lambda register: [register(Gauge), register(Plain)]),
)


def _versions(root: Path, *versions: str) -> None:
    root.mkdir(parents=True)
    (root / "version.txt").write_text("v0")
    for v in versions:
        (root / "versions" / v).mkdir(parents=True)
        (root / "versions" / v / "version.txt").write_text(v)


async def test_hot_swap_follows_the_declared_directory_and_setting(tmp_path: Path) -> None:
    root = tmp_path / "brain-store"
    _versions(root, "v1", "v2")
    registry.promote(root, {"id": "v1", "path": "versions/v1"})
    config = {"interplay": {"models_dir": str(tmp_path)}, "loop": {"watch_interval": 0.05}}
    async with run_bot(plugins, generator="brains", config=config, installed=False) as bot:
        assert (await bot.say("hi")).reply.model_version == "v1"  # promoted: served from the start
        registry.promote(root, {"id": "v2", "path": "versions/v2"})
        for _ in range(200):
            if bot.bot.generator.model_version == "v2":  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        assert (await bot.say("and now?")).text == "from v2"


def test_watched_plugins_and_their_kinds_come_from_their_classes(tmp_path: Path) -> None:
    config = InterplayConfig.model_validate(
        {"pipeline": {"generator": "brains", "analyzers": ["plain", "gauge"]},
         "interplay": {"models_dir": str(tmp_path)}}
    )
    plugins_registry = load_registry(config, {"brains": plugins}, installed=False)
    found = plugins_registry.model_plugins(config)
    assert [(kind, name, home.directory) for kind, name, home in found] == [
        ("generator", "brains", "brain-store"),
        ("analyzer", "gauge", "gauge"),
    ]
    assert plugins_registry.model_root(config, "brains") == tmp_path / "brain-store"
    with pytest.raises(PluginError, match="serves no model directory"):
        plugins_registry.model_root(config, "plain")


def test_model_root_has_no_built_in_names(tmp_path: Path) -> None:
    config = InterplayConfig.model_validate({"interplay": {"models_dir": str(tmp_path)}})
    assert registry.model_root(config, "onnx") == tmp_path / "onnx"  # was <models_dir>/generator, by name
    home = ModelHome("elsewhere", setting="weights")
    configured = config.model_copy(update={"plugins": {"onnx": {"weights": str(tmp_path / "w")}}})
    assert registry.model_root(configured, "onnx", home) == tmp_path / "w"


def test_a_legacy_directory_is_still_found_with_a_warning(tmp_path: Path) -> None:
    home = ModelHome("new-name", legacy=("old-name",))
    assert home.root(tmp_path) == tmp_path / "new-name"  # neither exists: the new name
    (tmp_path / "old-name").mkdir()
    with pytest.warns(DeprecationWarning, match="move it to"):
        assert home.root(tmp_path) == tmp_path / "old-name"
    (tmp_path / "new-name").mkdir()
    assert home.root(tmp_path) == tmp_path / "new-name"  # once moved, the new one wins


class Mood(Analyzer):
    name = "mood"
    provides = "sentiment"

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "positive" if "thanks" in message.text else "neutral", 0.95)


class Topic(Analyzer):
    name = "topic"
    provides = "intent"

    async def analyze(self, message: Message) -> Annotation:
        return Annotation(self.name, "greet", 0.95)


nlu = SimpleNamespace(
    __name__="nlu-standins", register_analyzers=hookimpl(lambda register: [register(Mood), register(Topic)])
)


async def test_the_analyzer_that_provides_sentiment_gives_the_signal_without_config() -> None:
    async with run_bot(nlu, analyzers=["mood"], installed=False) as bot:
        await bot.say("where is my parcel")
        await bot.say("great, thanks")
        feedback = await bot.store.feedback_for()
    assert [(f.kind, f.score) for f in feedback] == [("implicit:sentiment", 1.0)]


async def test_the_analyzer_that_provides_intent_marks_rephrases_without_config() -> None:
    # the same confident routing label makes a looser rephrase count (core/signals.py)
    async with run_bot(nlu, analyzers=["topic"], installed=False,
                       config={"feedback": {"rephrase_similarity": 0.6}}) as bot:
        await bot.say("hello there my friend")
        await bot.say("hello to you my good friend")
        feedback = await bot.store.feedback_for()
    assert [f.kind for f in feedback] == ["implicit:rephrase"]


def test_message_intent_is_deprecated() -> None:
    message = Message("c", "1", "u", "hi").annotated({"intent": Annotation("intent", "greet")})
    with pytest.warns(DeprecationWarning, match="annotations"):
        assert message.intent == "greet"
