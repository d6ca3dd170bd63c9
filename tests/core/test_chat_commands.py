"""The register_chat_commands hook: plugins add commands and replace the built-in (default plugin) ones."""

from __future__ import annotations

from types import SimpleNamespace

from interplay.core import hookimpl
from interplay.testing import run_bot


def _plugin(**hooks: object) -> SimpleNamespace:
    return SimpleNamespace(__name__="commands-plugin", **hooks)


async def test_a_plugin_adds_a_command_that_help_lists_and_history_skips():
    async def ping(message):
        return f"pong {message.user_id}"

    plugin = _plugin(register_chat_commands=hookimpl(lambda register: register("ping", "answer pong", ping)))
    async with run_bot(plugin, installed=False) as bot:
        assert (await bot.say("/ping", user="ann")).text == "pong ann"
        assert "/ping - answer pong" in (await bot.say("/help")).text
        assert await bot.store.history("c1", 10) == ()  # commands stay out of the conversation


async def test_a_plugin_replaces_a_default_command_and_the_other_defaults_stay():
    calls = []

    async def forget(message):
        calls.append(message.user_id)
        return "forgotten, my way"

    plugin = _plugin(register_chat_commands=hookimpl(lambda register: register("forget", "mine", forget)))
    async with run_bot(plugin, installed=False) as bot:
        await bot.say("hello", user="ann")
        assert (await bot.say("/forget", user="ann")).text == "forgotten, my way"
        assert calls == ["ann"]
        assert await bot.store.exchanges()  # the built-in /forget did not run
        assert "optin undoes" in (await bot.say("/optout", user="ann")).text


async def test_the_hook_gets_only_the_arguments_it_names():
    seen = {}

    def register_chat_commands(register, bus, stages):
        seen.update(bus=bus, stages=stages)

    plugin = _plugin(register_chat_commands=hookimpl(register_chat_commands))
    async with run_bot(plugin, installed=False) as bot:
        assert seen["bus"] is bot.bot.bus
        assert seen["stages"].generator is bot.bot.generator
