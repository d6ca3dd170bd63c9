"""The files `interplay new-plugin` writes, one plugin module and one test per kind.

Placeholders: {name} (entry point and config table), {module}, {dist}, {cls}, {kind}.
Braces meant for the generated code are doubled.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "An Interplay {kind} plugin."
requires-python = ">=3.11"
dependencies = ["interplay"]

[project.optional-dependencies]
test = ["pytest>=8", "pytest-asyncio>=0.24"]

# The entry point name is also the plugin's [plugins.{name}] table and its name in [pipeline].
[project.entry-points.interplay]
{name} = "{module}"

[tool.setuptools]
py-modules = ["{module}"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"

[tool.ruff]
line-length = 100
"""

README = """\
# {dist}

An Interplay {kind} plugin, created by `interplay new-plugin {name} --kind {kind}`.

```sh
pip install -e .
pytest
```

Enable it in the bot's `config.toml` ({pipeline_hint}) and set its options in `[plugins.{name}]`.
`docs/plugins.md` in the Interplay repository describes every hook and method.
"""

PIPELINE_HINT = {
    "analyzer": '`[pipeline] analyzers = ["{name}"]`',
    "skill": '`[pipeline] skills = ["{name}"]`',
    "channel": '`[pipeline] channels = ["{name}"]`',
    "generator": '`[pipeline] generator = "{name}"`',
}

MODULES = {
    "analyzer": '''\
"""An Interplay analyzer that tags messages mentioning a keyword."""

from interplay.core import Analyzer, Annotation, Message, PluginSettings, hookimpl


class {cls}Settings(PluginSettings):
    """The [plugins.{name}] table (unknown keys are errors)."""

    keywords: tuple[str, ...] = ("help", "urgent")


class {cls}Analyzer(Analyzer):
    """Tags a message "yes" when it contains one of the keywords."""

    name = "{name}"
    Settings = {cls}Settings

    async def analyze(self, message: Message) -> Annotation:
        words = set(message.text.lower().split())
        found = sorted(words & set(self.settings.keywords))
        return Annotation(self.name, "yes" if found else "no", data={{"keywords": found}})


@hookimpl
def register_analyzers(register):
    register({cls}Analyzer)
''',
    "skill": '''\
"""An Interplay skill that answers greetings itself."""

from interplay.core import Conversation, PluginSettings, Skill, hookimpl


class {cls}Settings(PluginSettings):
    """The [plugins.{name}] table (unknown keys are errors)."""

    triggers: tuple[str, ...] = ("hi", "hello")
    answer: str = "Hello! How can I help?"


class {cls}Skill(Skill):
    """Answers greetings; anything else goes to the next skill or the generator."""

    name = "{name}"
    Settings = {cls}Settings
    intents = frozenset()  # empty: asked for every message; or e.g. {{"greet"}}
    # or a matcher from interplay.core: matcher = Command("hi") | Intent("greet")
    # (what matched is in conversation.match)

    async def answer(self, conversation: Conversation) -> str | None:
        words = set(conversation.message.text.lower().strip("!?. ").split())
        if words & set(self.settings.triggers):
            return self.settings.answer
        return None


@hookimpl
def register_skills(register):
    register({cls}Skill)
''',
    "generator": '''\
"""An Interplay generator that streams its reply word by word."""

import asyncio
from collections.abc import AsyncIterator

from interplay.core import Conversation, Generator, PluginSettings, hookimpl


class {cls}Settings(PluginSettings):
    """The [plugins.{name}] table (unknown keys are errors)."""

    prefix: str = "You said:"
    delay: float = 0.0  # seconds between words, to imitate a model's pace


class {cls}Generator(Generator):
    """Replace the body of `stream` with a call to your model."""

    name = "{name}"
    Settings = {cls}Settings

    @property
    def model_version(self) -> str:
        # stored with every reply, so feedback names the model that earned it
        return "{name}-0.1.0"

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        words = f"{{self.settings.prefix}} {{conversation.message.text}}".split(" ")
        for i, word in enumerate(words):
            if self.settings.delay:
                await asyncio.sleep(self.settings.delay)
            yield word if i == 0 else " " + word


@hookimpl
def register_generators(register):
    register({cls}Generator)
''',
    "channel": '''\
"""An Interplay channel: line-based TCP chat, one connection per conversation."""

import asyncio

from interplay.core import (
    Channel,
    Inbox,
    Message,
    PluginSettings,
    ReplyStream,
    hookimpl,
    new_id,
)
from pydantic import Field


class {cls}Settings(PluginSettings):
    """The [plugins.{name}] table (unknown keys are errors)."""

    host: str = "127.0.0.1"  # "0.0.0.0" exposes the bot to anyone who can connect
    port: int = Field(7000, ge=0, le=65535)  # 0: any free port (tests)
    max_line_bytes: int = Field(4096, ge=16)  # longer lines close the connection


class {cls}Channel(Channel):
    """Each line a client sends is a message; each reply goes back as one line."""

    name = "{name}"
    Settings = {cls}Settings

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.port = settings.port
        self._server = None
        self._clients: dict[str, asyncio.StreamWriter] = {{}}

    async def open(self, inbox: Inbox) -> None:
        async def serve(reader, writer):
            await self._serve(inbox, reader, writer)

        s = self.settings
        limit = s.max_line_bytes
        self._server = await asyncio.start_server(serve, s.host, s.port, limit=limit)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, inbox, reader, writer) -> None:
        conversation = new_id()
        self._clients[conversation] = writer
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").strip()
                if text:
                    message = Message(self.name, conversation, conversation, text)
                    await inbox.submit(message)
        except (ValueError, ConnectionError):
            pass  # a line over the limit, or the client left
        finally:
            self._clients.pop(conversation, None)
            writer.close()

    async def send(self, reply: ReplyStream) -> None:
        text = await reply.collect()
        writer = self._clients.get(reply.message.conversation_id)
        if writer is not None:  # the client may have left while the reply was made
            writer.write(text.replace("\\n", " ").encode() + b"\\n")
            await writer.drain()

    async def stop(self) -> None:
        for writer in list(self._clients.values()):
            writer.close()
        if self._server is not None:
            self._server.close()


@hookimpl
def register_channels(register):
    register({cls}Channel)
''',
}

TESTS = {
    "analyzer": """\
from interplay.testing import run_bot

NAME = "{name}"


async def test_keywords_are_tagged_through_the_installed_entry_point():
    async with run_bot(analyzers=[NAME]) as bot:
        assert (await bot.say("this is urgent")).annotations[NAME].label == "yes"
        assert (await bot.say("hello there")).annotations[NAME].label == "no"


async def test_keywords_come_from_the_config_table():
    settings = {{NAME: {{"keywords": ["hello"]}}}}
    async with run_bot(analyzers=[NAME], settings=settings) as bot:
        reply = await bot.say("hello there")
    assert reply.annotations[NAME].label == "yes"
    assert reply.annotations[NAME].data["keywords"] == ["hello"]
""",
    "skill": """\
from interplay.testing import run_bot

NAME = "{name}"


async def test_greetings_are_answered_by_the_skill():
    async with run_bot(skills=[NAME]) as bot:
        reply = await bot.say("Hello!")
    assert reply.source == f"skill:{{NAME}}"
    assert reply.text == "Hello! How can I help?"


async def test_anything_else_goes_to_the_generator():
    settings = {{NAME: {{"triggers": ["hey"]}}}}
    async with run_bot(skills=[NAME], settings=settings) as bot:
        assert (await bot.say("hey")).source == f"skill:{{NAME}}"
        assert (await bot.say("hello")).source == "generator:echo"
""",
    "generator": """\
from interplay.testing import run_bot

NAME = "{name}"


async def test_the_reply_streams_word_by_word():
    async with run_bot(generator=NAME) as bot:
        reply = await bot.say("hi there")
    assert reply.text == "You said: hi there"
    assert reply.deltas == ["You", " said:", " hi", " there"]
    assert reply.model_version == f"{{NAME}}-0.1.0"


async def test_the_prefix_comes_from_the_config_table():
    settings = {{NAME: {{"prefix": "Echo:"}}}}
    async with run_bot(generator=NAME, settings=settings) as bot:
        assert (await bot.say("ping")).text == "Echo: ping"
""",
    "channel": """\
import asyncio

from interplay.testing import run_bot

NAME = "{name}"
CONFIG = {{"pipeline": {{"channels": ["fake", NAME]}}}}
SETTINGS = {{NAME: {{"port": 0, "max_line_bytes": 64}}}}


async def test_each_line_gets_a_reply_line():
    async with run_bot(config=CONFIG, settings=SETTINGS) as bot:
        port = bot.bot.channels[NAME].port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for text in (b"hello", b"how are you"):
            writer.write(text + b"\\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.readline(), 10) == text + b"\\n"
        writer.close()


async def test_an_overlong_line_closes_the_connection_and_the_bot_carries_on():
    async with run_bot(config=CONFIG, settings=SETTINGS) as bot:
        port = bot.bot.channels[NAME].port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x" * 1000 + b"\\n")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        assert (await bot.say("still here")).text == "still here"
""",
}
