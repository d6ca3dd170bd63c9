"""Interplay's runtime core. Plugin authors import everything they need from here."""

from __future__ import annotations

from .config import InterplayConfig, PipelineSettings, SecretRef, load_config, resolve_secret
from .contracts import (
    Analyzer,
    Channel,
    Generator,
    Inbox,
    ModelHome,
    Plugin,
    PluginContext,
    PluginSettings,
    Register,
    RegisterChatCommand,
    ReplyStream,
    Skill,
    Submitted,
)
from .errors import (
    BusClosed,
    ConfigError,
    InterplayError,
    ModelError,
    PluginError,
    StoreError,
    Undeliverable,
)
from .hookspecs import hookimpl, hookspec
from .matchers import Command, Intent, Matcher, Regex
from .messages import Annotation, Conversation, Feedback, Match, Message, Reply, ReplySource, Turn, new_id

__version__ = "0.1.0"

__all__ = [
    "Analyzer",
    "Annotation",
    "BusClosed",
    "Channel",
    "Command",
    "ConfigError",
    "Conversation",
    "Feedback",
    "Generator",
    "Inbox",
    "Intent",
    "InterplayConfig",
    "InterplayError",
    "Match",
    "Matcher",
    "Message",
    "ModelError",
    "ModelHome",
    "PipelineSettings",
    "Plugin",
    "PluginContext",
    "PluginError",
    "PluginSettings",
    "Regex",
    "Register",
    "RegisterChatCommand",
    "Reply",
    "ReplySource",
    "ReplyStream",
    "SecretRef",
    "Skill",
    "StoreError",
    "Submitted",
    "Turn",
    "Undeliverable",
    "hookimpl",
    "hookspec",
    "load_config",
    "new_id",
    "resolve_secret",
]
