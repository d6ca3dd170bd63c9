"""Test helpers for plugin authors, shipped as a pytest plugin (`interplay.testing`).

async def test_my_analyzer():
    async with run_bot(my_plugin, analyzers=["shouting"]) as bot:
        reply = await bot.say("HELLO")
        assert reply.annotations["shouting"].label == "yes"
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from interplay.core.app import Bot
from interplay.core.assembly import build_bot
from interplay.core.config import InterplayConfig
from interplay.core.contracts import Analyzer, Channel, Inbox, PluginSettings, ReplyStream, Submitted
from interplay.core.errors import StartupError
from interplay.core.hookspecs import hookimpl
from interplay.core.messages import Annotation, Message, Reply
from interplay.core.plugins import load_registry
from interplay.core.store import ConversationStore, MemoryStore
from pydantic import ConfigDict


@dataclass
class BotReply:
    """What the bot answered to one message, with what the core knew about it."""

    text: str
    source: str
    model_version: str | None = None
    annotations: Mapping[str, Annotation] = field(default_factory=dict)
    deltas: list[str] = field(default_factory=list)
    reply: Reply | None = None


class FakeChannelSettings(PluginSettings):
    pass


class FakeChannel(Channel):
    """An in-memory channel: `await say(text)` returns the reply the bot sent back."""

    name = "fake"
    Settings = FakeChannelSettings
    _ids = itertools.count(1)

    def __init__(self, settings: PluginSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.inbox: Inbox | None = None
        self.sent: list[BotReply] = []
        self._waiting: dict[str, asyncio.Future[BotReply]] = {}
        self._streams: dict[str, BotReply] = {}

    async def open(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def message(self, text: str, conversation: str = "c1", user: str = "u1", **kw: Any) -> Message:
        return Message(channel=self.name, conversation_id=conversation, user_id=user, text=text, **kw)

    async def submit(self, message: Message) -> asyncio.Future[BotReply]:
        """Hand a message to the bot; the future resolves with its reply."""
        assert self.inbox is not None, "the bot has not opened this channel yet"
        future = self._waiting[message.id] = asyncio.get_running_loop().create_future()
        outcome = await self.inbox.submit(message)
        if outcome is Submitted.DUPLICATE:
            self._waiting.pop(message.id)
            future.set_result(BotReply("", "duplicate"))
        return future

    async def say(
        self, text: str, conversation: str = "c1", user: str = "u1", timeout: float = 30, **kw: Any
    ) -> BotReply:
        """Send one message and wait for the reply."""
        future = await self.submit(self.message(text, conversation, user, **kw))
        return await asyncio.wait_for(future, timeout)

    async def send(self, reply: ReplyStream) -> None:
        out = BotReply("", reply.source, reply.model_version, reply.message.annotations)
        async for delta in reply:
            out.deltas.append(delta)
        out.text = reply.text
        self._streams[reply.message.id] = out

    async def delivered(self, message: Message, reply: Reply) -> None:
        out = self._streams.pop(message.id, None) or BotReply(reply.text, reply.source)
        out.reply, out.annotations = reply, message.annotations
        self.sent.append(out)
        future = self._waiting.pop(message.id, None)
        if future is not None and not future.done():
            future.set_result(out)


_fake_plugin = SimpleNamespace(register_channels=hookimpl(lambda register: register(FakeChannel)))


def fake_analyzer(
    name: str,
    label: str | Callable[[Message], str | None],
    confidence: float = 1.0,
    *,
    provides: str | None = None,
    **data: Any,
) -> object:
    """A plugin object registering an analyzer `name` that tags every message with `label`
    (or `label(message)`; None means no tag): stands in for an upstream analyzer in a test.
    It `provides` what its name says unless told otherwise, so `fake_analyzer("intent", ...)`
    routes skills as the real intent analyzer does.

    run_bot(my_skill, fake_analyzer("intent", "weather"), analyzers=["intent"], skills=["mine"],
            installed=False)
    """

    class _Settings(PluginSettings):
        model_config = ConfigDict(extra="allow", frozen=True)

    async def analyze(self: Analyzer, message: Message) -> Annotation | None:
        tag = label(message) if callable(label) else label
        return None if tag is None else Annotation(name, tag, confidence, data=data)

    members = {"name": name, "Settings": _Settings, "analyze": analyze,
               "provides": name if provides is None else provides}
    cls = type(f"Fake{name.title()}Analyzer", (Analyzer,), members)
    register = hookimpl(lambda register: register(cls))
    return SimpleNamespace(register_analyzers=register, __name__=f"fake-{name}")


class TestBot:
    """A running bot with a fake channel; `say()` talks to it."""

    __test__ = False  # not a pytest test class

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        channel = bot.channels.get("fake")
        self.channel = channel if isinstance(channel, FakeChannel) else None

    async def say(self, text: str, conversation: str = "c1", user: str = "u1", **kw: Any) -> BotReply:
        assert self.channel is not None, "say() needs the fake channel in [pipeline] channels"
        return await self.channel.say(text, conversation, user, **kw)

    @property
    def store(self) -> ConversationStore:
        return self.bot.store


@asynccontextmanager
async def run_bot(
    *plugins: object,
    analyzers: list[str] | None = None,
    skills: list[str] | None = None,
    generator: str = "echo",
    settings: dict[str, dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
    store: ConversationStore | None = None,
    installed: bool = True,
) -> AsyncIterator[TestBot]:
    """Start a bot with these plugin modules (or objects with hookimpls) and a fake channel.

    Installed plugins (entry points) are available too unless `installed=False`;
    `settings` fills `[plugins.<name>]`.
    """
    data: dict[str, Any] = dict(config or {})
    data["pipeline"] = {
        "channels": ["fake"],
        "analyzers": analyzers or [],
        "skills": skills or [],
        "generator": generator,
        **data.get("pipeline", {}),
    }
    data["plugins"] = {**data.get("plugins", {}), **(settings or {})}
    cfg = InterplayConfig.model_validate({**data, "source": "run_bot()"})
    extra: dict[str, object] = {"interplay.testing": _fake_plugin}
    extra.update({getattr(p, "__name__", f"plugin{i}"): p for i, p in enumerate(plugins)})
    if not installed and generator == "echo":
        from interplay.plugins import echo

        extra["echo"] = echo
    registry = load_registry(cfg, extra, installed=installed)
    bot = build_bot(cfg, registry, store=store or MemoryStore())
    try:
        await bot.start()
    except StartupError as exc:
        if len(exc.failures) == 1:  # the plugin's own error, with its traceback, not a wrapper
            raise exc.failures[0][2] from None
        raise
    try:
        yield TestBot(bot)
    finally:
        await bot.stop()


@pytest.fixture
def interplay_run_bot() -> Any:
    """The `run_bot` helper as a fixture, for tests that prefer fixtures to imports."""
    return run_bot
