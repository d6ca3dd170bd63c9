"""What happens to one message: analyze, then a skill or the generator, then send and store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol

from .chat_commands import ChatCommands
from .config import BusSettings
from .contracts import Analyzer, Generator, ReplyStream, Skill
from .errors import PluginError, Undeliverable
from .matchers import ROUTING_ANALYZER
from .messages import Annotation, Conversation, Match, Message, Reply, ReplySource, new_id
from .observability import NULL_OBSERVER, PipelineObserver
from .signals import ImplicitSignals
from .state import Stages
from .store.base import ConversationStore, Status

log = logging.getLogger("interplay.pipeline")

ErrorHook = Callable[[str, BaseException], None]
RESUME = Match("resume")  # what a skill that is waiting for the sender's answer is handed


class ReplyOutlet(Protocol):
    """Where the pipeline sends a reply: a `Channel`, or in a scaled-out worker its outbound stream."""

    @property
    def name(self) -> str: ...

    async def send(self, reply: ReplyStream) -> None: ...

    async def delivered(self, message: Message, reply: Reply) -> None: ...


async def _once(text: str) -> AsyncIterator[str]:
    yield text


class Pipeline:
    """Runs the stages for one message; plugin failures become a fallback reply."""

    def __init__(
        self,
        store: ConversationStore,
        channels: Mapping[str, ReplyOutlet],
        settings: BusSettings,
        stages: Stages,
        commands: ChatCommands,
        *,
        history_turns: int = 20,
        routing_analyzer: str = "",
        on_error: ErrorHook | None = None,
        observer: PipelineObserver = NULL_OBSERVER,
        signals: ImplicitSignals | None = None,
    ) -> None:
        self.store = store
        self.channels = channels  # open channels by name (read on every reply: they open after this)
        self.settings = settings
        self.stages = stages
        self.history_turns = history_turns
        self.routing_analyzer = routing_analyzer  # its label picks the skills ([pipeline] routing_analyzer)
        self.commands = commands
        self.on_error = on_error or (lambda plugin, exc: None)
        self.observer = observer  # metrics, when [observability] is enabled
        self.signals = signals  # weak labels from the next turn (core/signals.py)

    @property
    def analyzers(self) -> list[Analyzer]:
        return self.stages.analyzers

    @property
    def skills(self) -> list[Skill]:
        return self.stages.skills

    @property
    def generator(self) -> Generator | None:
        return self.stages.generator

    async def handle(self, message: Message) -> None:
        """Answer one message; never raises for a plugin's fault."""
        if await self.store.forgotten(message):  # its sender asked to be forgotten after sending it
            log.info("message dropped: its sender was forgotten")
            return
        command = self.commands.parse(message)
        if command is not None:  # the exchange stays out of the history
            text = await self.commands.answer(command, message)
            await self.send_text(message, text, ReplySource("command", command.name))
            await self.store.set_status(message.id, Status.DONE)
            return
        started = time.perf_counter()
        latency: dict[str, float] = {}
        message = await self._analyze(message, latency)
        history = await self.store.history(message.conversation_id, self.history_turns)
        if self.signals is not None:
            await self.signals.observe(message, history)
        conversation = Conversation(message.conversation_id, message, history)
        stage = time.perf_counter()
        chunks, source, version = await self._choose(conversation)
        latency["skills"] = time.perf_counter() - stage
        stream = ReplyStream(
            message,
            self._replying(self._guard(chunks, source, message, latency), message),
            reply_id=new_id(),
            source=source,
            model_version=version,
        )
        if not await self.deliver(stream):
            await self.store.set_status(message.id, Status.FAILED)
            return
        latency["total"] = time.perf_counter() - started
        await self._record(message, stream, latency)

    async def _analyze(self, message: Message, latency: dict[str, float]) -> Message:
        analyzers = self.stages.analyzers  # one list for the whole message, even across a swap
        if not analyzers:
            return message
        stage = time.perf_counter()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(a.analyze(message)) for a in analyzers]
        try:  # one deadline for all: a late or failing analyzer only drops its own tag
            async with asyncio.timeout(self.settings.analyzer_timeout):
                await asyncio.gather(*tasks, return_exceptions=True)
        except TimeoutError:
            pass
        found: dict[str, Annotation] = {}
        for task, analyzer in zip(tasks, analyzers, strict=True):
            if not task.done() or task.cancelled():
                task.cancel()
                log.warning(
                    "analyzer %r timed out after %.1fs", analyzer.name, self.settings.analyzer_timeout
                )
                self.on_error(analyzer.name, TimeoutError())
            elif (exc := task.exception()) is not None:
                log.error("analyzer %r failed", analyzer.name, exc_info=exc)
                self.on_error(analyzer.name, exc)
            elif (annotation := task.result()) is not None:
                if problem := annotation_problem(analyzer.name, annotation):
                    log.error("%s", problem)
                    self.on_error(analyzer.name, PluginError(problem))
                else:
                    found[analyzer.name] = annotation
        latency["analyze"] = time.perf_counter() - stage
        return message.annotated(found) if found else message

    async def _choose(
        self, conversation: Conversation
    ) -> tuple[AsyncIterator[str], ReplySource, str | None]:
        """The first skill that answers wins; otherwise the generator streams the reply."""
        token = ROUTING_ANALYZER.set(self.routing_analyzer)  # what skills and `Intent()` route by
        try:
            return await self._choose_routed(conversation)
        finally:
            ROUTING_ANALYZER.reset(token)

    async def _choose_routed(
        self, conversation: Conversation
    ) -> tuple[AsyncIterator[str], ReplySource, str | None]:
        for skill, match in await self._asked(conversation):
            try:
                async with asyncio.timeout(self.settings.skill_timeout):
                    answer = await skill.answer(replace(conversation, match=match))
            except Exception as exc:
                log.exception("skill %r failed", skill.name)
                self.on_error(skill.name, exc)
                return _once(self.settings.fallback_reply), ReplySource("fallback"), None
            if answer is not None:
                return _once(answer), ReplySource("skill", skill.name), None
        generator = self.stages.generator
        if generator is None:
            return _once(self.settings.fallback_reply), ReplySource("fallback"), None
        source = ReplySource("generator", generator.name)
        return generator.stream(conversation), source, generator.model_version

    async def _asked(self, conversation: Conversation) -> list[tuple[Skill, Match]]:
        """The skills to ask, in order: any waiting for this sender's answer first, then those that match."""
        resuming: list[tuple[Skill, Match]] = []
        matched: list[tuple[Skill, Match]] = []
        for skill in self.stages.skills:
            try:
                if await skill.resumes(conversation):
                    resuming.append((skill, RESUME))
                elif (match := skill.match(conversation.message, self.routing_analyzer)) is not None:
                    matched.append((skill, match))
            except Exception as exc:  # a broken matcher drops its skill, not the reply
                log.exception("skill %r failed to match", skill.name)
                self.on_error(skill.name, exc)
        return resuming + matched

    async def _guard(
        self, chunks: AsyncIterator[str], source: ReplySource, message: Message, latency: dict[str, float]
    ) -> AsyncIterator[str]:
        """Apply the generation timeout; turn a failure into the fallback text."""
        started = time.perf_counter()
        produced = False
        deltas = 0
        iterator = aiter(chunks)
        try:
            async with asyncio.timeout(self.settings.generation_timeout):
                async for delta in iterator:
                    if not produced:
                        latency["first_token"] = time.perf_counter() - started
                    produced = produced or bool(delta)
                    deltas += 1
                    yield delta
        except TimeoutError as exc:
            log.warning("%s timed out after %.0fs", source, self.settings.generation_timeout)
            self.on_error(source.name or source.kind, exc)
            yield self._fallback_tail(produced)
        except Exception as exc:
            log.exception("%s failed", source)
            self.on_error(source.name or source.kind, exc)
            yield self._fallback_tail(produced)
        finally:
            await _aclose(iterator)
            latency["generate"] = time.perf_counter() - started
            self.observer.generated(source, deltas, latency["generate"])

    async def _replying(self, chunks: AsyncIterator[str], message: Message) -> AsyncIterator[str]:
        """Mark the message REPLYING as its first delta goes to the channel, not before.

        A crash before then (during prefill, say) leaves it RECEIVED, so it is answered after the
        restart; from the first delta on, part of a reply may be out and it is never replayed.
        """
        first = True
        try:
            async for delta in chunks:
                if first:
                    await self.store.set_status(message.id, Status.REPLYING)
                    first = False
                yield delta
        finally:
            await _aclose(chunks)

    def _fallback_tail(self, produced: bool) -> str:
        return f" … ({self.settings.fallback_reply})" if produced else self.settings.fallback_reply

    async def deliver(self, stream: ReplyStream) -> bool:
        """Hand a reply to its channel; False (logged) when the channel could not send it."""
        channel = self.channels.get(stream.message.channel)
        if channel is None:
            log.error("no channel %r is running to send the reply", stream.message.channel)
            return False
        try:
            await channel.send(stream)
        except Undeliverable as exc:  # expected; the channel reports it (once per chat, say)
            log.info("channel %r could not deliver the reply: %s", channel.name, exc)
            return False
        except Exception as exc:
            log.exception("channel %r failed to send the reply", channel.name)
            self.on_error(channel.name, exc)
            return False
        return True

    async def _record(self, message: Message, stream: ReplyStream, latency: dict[str, float]) -> None:
        reply = Reply(
            message_id=message.id,
            conversation_id=message.conversation_id,
            channel=message.channel,
            text=stream.text,
            source=stream.source,
            id=stream.id,
            model_version=stream.model_version,
            latency=latency,
            external_id=stream.external_id,
        )
        await self.store.record_reply(message, reply)
        self.observer.replied(message, reply)
        channel = self.channels.get(message.channel)
        if channel is not None:
            await _call_quietly(channel.delivered(message, reply), channel.name)

    async def send_text(self, message: Message, text: str, source: str) -> bool:
        """Send a short fixed reply (busy, command output) that does not enter the history."""
        stream = ReplyStream(message, _once(text), reply_id=new_id(), source=source)
        if not await self.deliver(stream):
            return False
        channel = self.channels[message.channel]
        reply = Reply(message.id, message.conversation_id, message.channel, stream.text, source, id=stream.id)
        self.observer.replied(message, reply)
        await _call_quietly(channel.delivered(message, reply), channel.name)
        return True


async def _aclose(iterator: AsyncIterator[str]) -> None:
    close: Callable[[], Awaitable[None]] | None = getattr(iterator, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:
            log.debug("generator raised on close", exc_info=True)


async def _call_quietly(awaitable: Awaitable[None], name: str) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("channel %r failed in delivered()", name)


def annotation_problem(analyzer: str, annotation: object) -> str:
    """Why an analyzer's result breaks the contract ("" when it is sound): the message names the plugin."""
    if not isinstance(annotation, Annotation):
        return (
            f"analyzer plugin {analyzer!r} returned {type(annotation).__name__}, not an Annotation: "
            f"return Annotation(self.name, label) or None"
        )
    if annotation.analyzer != analyzer:
        return (
            f"analyzer plugin {analyzer!r} returned an Annotation named {annotation.analyzer!r}: "
            f"annotations are keyed by the analyzer's name, so build it as Annotation(self.name, ...)"
        )
    return ""
