"""Hook specifications: the whole plugin contract at a glance.

Every hook is called once at start-up with a `register` callback, in the style of simonw/llm.
The objects a plugin registers carry the async work; no hook is `async def`.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("interplay")
hookimpl = pluggy.HookimplMarker("interplay")


@hookspec
def register_channels(register: Any, config: Any) -> None:
    """Register channel classes (subclasses of `interplay.core.Channel`).

    Call `register(MyChannel)` once per class. `config` is the validated `InterplayConfig`;
    a plugin's own settings arrive in its constructor, validated by its `Settings` model
    from the `[plugins.<name>]` table.
    """


@hookspec
def register_analyzers(register: Any, config: Any) -> None:
    """Register analyzer classes (`interplay.core.Analyzer`) that annotate each message."""


@hookspec
def register_skills(register: Any, config: Any) -> None:
    """Register skill classes (`interplay.core.Skill`) that answer known intents."""


@hookspec
def register_generators(register: Any, config: Any) -> None:
    """Register generator classes (`interplay.core.Generator`) that stream replies."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the `interplay` command line (`cli` is a click.Group)."""


@hookspec
def register_chat_commands(
    register: Any, config: Any, store: Any, state: Any, bus: Any, stages: Any, models: Any
) -> None:
    """Register commands people type in any channel, such as `/forget`.

    Call `register(name, help, handler, admin_only=False)`: `name` without the slash, `handler`
    an `async def handler(message) -> str` whose answer is sent back (and kept out of the history).
    Take only the arguments you use: `config` (`InterplayConfig`), `store` (`ConversationStore`),
    `state` (`BotState`: plugin states and error counts), `bus` (`BusBackend`: its load),
    `stages` (the analyzers, skills and generator being served), `models` (the `ModelSwapper`,
    None when hot swap is off).

    The built-in `/forget`, `/optout`, `/optin`, `/reload` and `/status` are registered by
    default plugins with `@hookimpl(trylast=True)`: a plugin that registers the same name
    replaces the built-in one.
    """
