"""Base classes that plugin authors subclass: Channel, Analyzer, Skill, Generator.

Each class has a `name` (its entry-point name and its `[plugins.<name>]` table), a pydantic
`Settings` model for that table (unknown keys are rejected), and is built by the core as
`cls(settings, context)` only when it is enabled in config.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from .matchers import ALWAYS, ROUTING_ANALYZER, Matcher
from .matchers import routing_analyzer as current_routing_analyzer
from .messages import Annotation, Conversation, Feedback, Match, Message, Reply, ReplySource
from .model_dir.registry import ModelHome

if TYPE_CHECKING:
    from .store.base import ConversationStore


class PluginSettings(BaseModel):
    """Base for a plugin's `[plugins.<name>]` table; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PluginContext:
    """What the core hands every plugin: the store, the data directory and app-level settings."""

    def __init__(
        self,
        store: ConversationStore,
        data_dir: Path,
        config: Any,
        request_stop: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.config = config
        # ends `interplay run` (a console that reached end of input)
        self.request_stop: Callable[[], None] = request_stop or (lambda: None)


SettingsT = TypeVar("SettingsT", bound=PluginSettings, default=PluginSettings)


class Plugin(Generic[SettingsT]):
    """Common shape of every registered component; `Plugin[MySettings]` types `self.settings`."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    Settings: ClassVar[type[PluginSettings]] = PluginSettings
    model_home: ClassVar[ModelHome | None] = None
    """Set by a plugin that serves a model directory (`ModelHome("intent")`): where it is by default and
    which setting moves it. `interplay models`, hot swap and the trainer find the model through it;
    None: no model directory (hot swap leaves the plugin alone)."""

    def __init__(self, settings: SettingsT, context: PluginContext) -> None:
        self.settings: SettingsT = settings
        self.context = context

    async def start(self) -> None:
        """Acquire resources (load models, open connections). Raise PluginError on failure."""

    async def stop(self) -> None:
        """Release resources. Called once, also after a failed start."""


Register = Callable[[type[Plugin[Any]]], None]
"""What `register_channels`, `register_analyzers`, `register_skills` and `register_generators` get."""


class RegisterChatCommand(Protocol):
    """What `register_chat_commands` gets: `register(name, help, handler, admin_only=False)`."""

    def __call__(
        self,
        name: str,
        help: str,
        handler: Callable[[Message], Awaitable[str]],
        *,
        admin_only: bool = False,
    ) -> None: ...


class Submitted(enum.Enum):
    """What became of a message handed to the core."""

    ACCEPTED = "accepted"  # durably stored and queued
    DUPLICATE = "duplicate"  # same channel + external_id seen before: ignored
    BUSY = "busy"  # stored, but the conversation's backlog is full: a busy reply was sent
    LIMITED = "limited"  # stored, but over a limit (rate, size): answered politely, not processed


class Inbox(Protocol):
    """How a channel hands messages to the core."""

    async def submit(self, message: Message) -> Submitted:
        """Store the message durably, then queue it. Returns once it is safe to acknowledge."""
        ...

    async def feedback(self, feedback: Feedback) -> None:
        """Store a judgement of a reply."""
        ...

    def cancel(self, conversation_id: str) -> bool:
        """Stop the reply being produced in a conversation (reset, client gone)."""
        ...


class ReplyStream:
    """A reply on its way out: text deltas as they are generated, plus what produced them.

    Iterate it once (`async for delta in stream`) to send the text; `text` holds what was
    produced so far. A channel that cannot stream may just `await stream.collect()`.
    """

    def __init__(
        self,
        message: Message,
        chunks: AsyncIterator[str],
        *,
        reply_id: str,
        source: str,
        model_version: str | None = None,
    ) -> None:
        self.message = message
        self.id = reply_id
        self.source = ReplySource.parse(source)  # what produced it: `.kind`, `.name`, `.rated`
        self.model_version = model_version
        self.text = ""
        self._chunks = chunks
        self.external_id: str | None = None  # the channel may set its own id for the reply

    async def __aiter__(self) -> AsyncIterator[str]:
        async for delta in self._chunks:
            if delta:
                self.text += delta
                yield delta

    async def collect(self) -> str:
        """Consume the whole stream and return the full text."""
        async for _ in self:
            pass
        return self.text


class Channel(Plugin[SettingsT]):
    """Brings messages in (through `inbox.submit`) and sends replies out."""

    kind = "channel"

    async def open(self, inbox: Inbox) -> None:
        """Start receiving; call `await inbox.submit(message)` for each inbound message."""
        raise NotImplementedError

    async def send(self, reply: ReplyStream) -> None:
        """Deliver one reply, consuming its stream. May set `reply.external_id`."""
        raise NotImplementedError

    async def delivered(self, message: Message, reply: Reply) -> None:
        """Called once the reply is stored (its latency and model version are known)."""


class Analyzer(Plugin[SettingsT]):
    """Annotates a message (intent, sentiment, entities...). Runs concurrently with others."""

    kind = "analyzer"
    provides: ClassVar[str] = ""
    """What its labels mean to the core, if anything: "intent" (routes skills, marks rephrases) or
    "sentiment" (a feedback signal). `[pipeline] routing_analyzer` and `[feedback] sentiment_analyzer`
    default to the enabled analyzer that provides it; "" (the default): neither."""

    async def analyze(self, message: Message) -> Annotation | None:
        raise NotImplementedError


class Skill(Plugin[SettingsT]):
    """Answers some messages itself. Return None to pass to the next skill or the generator.

    Which messages it is asked about: `matcher` (a `Matcher` from `interplay.core.matchers`) when
    set, else `intents` (labels of `[pipeline] routing_analyzer`: by default the analyzer that
    provides "intent"), else every message. A skill in the middle
    of a dialogue with the sender (`resumes()` is True) is asked first, whatever its matcher says.
    """

    kind = "skill"
    intents: frozenset[str] = frozenset()  # empty: consulted for every message (a plugin may set its own)
    matcher: Matcher | None = None  # class attribute, or set per instance from settings

    def match(self, message: Message, routing_analyzer: str | None = None) -> Match | None:
        """Whether this skill is asked about `message`, and what matched; None: not asked.

        `routing_analyzer` is the analyzer whose labels `intents` and `Intent(analyzer=None)` read
        (`[pipeline] routing_analyzer`, resolved by `build_bot`; "": none, such a skill is not asked).
        None: the one of the pipeline matching now (outside a pipeline: "intent").
        """
        token = ROUTING_ANALYZER.set(routing_analyzer) if routing_analyzer is not None else None
        try:
            if self.matcher is not None:
                return self.matcher.match(message)
            if self.intents:
                annotation = message.annotations.get(current_routing_analyzer())
                if annotation is None or annotation.label not in self.intents:
                    return None
                return Match(
                    "intent", args=message.text, label=annotation.label, confidence=annotation.confidence
                )
        finally:
            if token is not None:
                ROUTING_ANALYZER.reset(token)
        return ALWAYS

    async def resumes(self, conversation: Conversation) -> bool:
        """True while this skill waits for the sender's answer (a dialogue goes on): it is asked first."""
        return False

    async def answer(self, conversation: Conversation) -> str | None:
        raise NotImplementedError


class Generator(Plugin[SettingsT]):
    """Streams a reply for a conversation, as text deltas."""

    kind = "generator"

    @property
    def model_version(self) -> str | None:
        """The version of the model that produces replies right now (stored with each reply)."""
        return None

    def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        raise NotImplementedError


__all__ = [
    "Analyzer",
    "Channel",
    "Generator",
    "Inbox",
    "ModelHome",
    "Plugin",
    "PluginContext",
    "PluginSettings",
    "Register",
    "RegisterChatCommand",
    "Reply",
    "ReplyStream",
    "Skill",
    "Submitted",
]
