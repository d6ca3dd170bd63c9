"""Plugin discovery (entry-point group `interplay`) and the registry of components."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import inspect
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from pydantic import ValidationError

from . import hookspecs
from .chat_commands import ChatCommand, Handler
from .config import InterplayConfig, describe_validation_error, register_settings_model
from .contracts import Plugin, PluginContext
from .defaults import DEFAULT_PLUGINS
from .errors import PluginError
from .extras import PLUGIN_EXTRAS, MissingExtra, extra_of
from .model_dir.registry import ModelHome, model_root

log = logging.getLogger("interplay.plugins")
ENTRY_POINT_GROUP = "interplay"
KINDS = ("channel", "analyzer", "skill", "generator")


@dataclass
class PluginInfo:
    """What `interplay plugins` shows for one entry point."""

    name: str
    source: str
    version: str
    components: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    error: str | None = None
    missing_extra: str | None = None  # the `interplay[...]` extra it needs and lacks


def hook_problem(module: Any) -> str:
    """What keeps a plugin module's hooks from working ("" if nothing): a missing @hookimpl, an async hook."""
    hooks = {n for n, f in vars(hookspecs).items() if hasattr(f, "interplay_spec")}
    marked = False
    for attr in dir(module):
        value = getattr(module, attr, None)
        if not callable(value) or not (attr in hooks or attr.startswith("register_")):
            continue
        if not hasattr(value, "interplay_impl"):
            if attr in hooks:
                return f"{attr}() has no @hookimpl: decorate it (`from interplay.core import hookimpl`)"
            continue
        marked = True
        if inspect.iscoroutinefunction(value):
            return (
                f"{attr}() is `async def`: hooks are plain functions called once at start-up "
                "(pluggy does not await them); make it `def` and put the async work in the registered class"
            )
    if not marked and not any(hasattr(getattr(module, a, None), "interplay_impl") for a in dir(module)):
        return "registers nothing: the module has no @hookimpl function (e.g. `register_analyzers`)"
    return ""


def _unknown_hook(exc: pluggy.PluginValidationError) -> str:
    hooks = [n for n, f in vars(hookspecs).items() if hasattr(f, "interplay_spec")]
    found = re.search(r"unknown hook '(\w+)'", str(exc))
    if not found:
        return f"invalid hook: {exc}"
    close = difflib.get_close_matches(found.group(1), hooks, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (hooks: {', '.join(sorted(hooks))})"
    return f"@hookimpl on {found.group(1)}(), which is no Interplay hook{hint}"


def missing_extra(exc: BaseException, plugin: str) -> MissingExtra | None:
    """MissingExtra for a plugin whose import failed on an optional dependency; else None."""
    if isinstance(exc, MissingExtra):
        return exc
    if isinstance(exc, ModuleNotFoundError) and (found := extra_of(exc, PLUGIN_EXTRAS.get(plugin, ""))):
        return MissingExtra(*found, f"plugin {plugin!r}")
    return None


class PluginRegistry:
    """Loads plugin modules, collects the components they register, and builds enabled ones."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("interplay")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.components: dict[str, dict[str, type[Plugin]]] = {kind: {} for kind in KINDS}
        self._owner: dict[tuple[str, str], str] = {}
        for module_name in DEFAULT_PLUGINS:  # always there, like datasette's; not listed as plugins
            self.pm.register(importlib.import_module(module_name), name=module_name)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every installed plugin; a failing one is recorded by name, the rest load."""
        for ep in md.entry_points(group=group):
            if ep.name in self.infos:
                continue
            dist = ep.dist
            info = PluginInfo(ep.name, dist.name if dist else ep.value, dist.version if dist else "")
            self.infos[ep.name] = info
            try:
                module = ep.load()
            except Exception as exc:
                missing = missing_extra(exc, ep.name)
                if missing is not None:  # an extra not installed: only a problem if the plugin is enabled
                    info.error, info.missing_extra = str(missing), missing.extra
                    log.debug("plugin %r: %s", ep.name, info.error)
                    continue
                info.error = f"failed to import {ep.value}: {type(exc).__name__}: {exc}"
                log.warning("plugin %r %s", ep.name, info.error)
                continue
            self._register_module(ep.name, module)

    def add(self, name: str, module: ModuleType | object, source: str = "local") -> None:
        """Register a plugin object directly (tests, `interplay.testing`)."""
        self.infos[name] = PluginInfo(name, source, "")
        self._register_module(name, module)

    def _register_module(self, name: str, module: Any) -> None:
        problem = hook_problem(module)
        if not problem:
            try:
                self.pm.register(module, name=name)
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                self.pm.unregister(name=name)
                problem = _unknown_hook(exc)
        self.infos[name].error = problem
        log.warning("plugin %r: %s", name, problem)

    def collect(self, config: InterplayConfig) -> None:
        """Call the register_* hooks once; each plugin's components are recorded under it."""
        for kind in KINDS:
            hook = getattr(self.pm.hook, f"register_{kind}s")
            for impl in hook.get_hookimpls():

                def register(cls: type[Plugin], _kind: str = kind, _owner: str = impl.plugin_name) -> None:
                    self._add_component(_kind, cls, _owner)

                args = {"register": register, "config": config}
                try:
                    impl.function(*[args[a] for a in impl.argnames])
                except Exception as exc:
                    info = self.infos.get(impl.plugin_name)
                    missing = missing_extra(exc, impl.plugin_name)
                    if missing is not None:
                        if info:
                            info.error, info.missing_extra = str(missing), missing.extra
                        log.debug("plugin %r: %s", impl.plugin_name, missing)
                        continue
                    if info:
                        info.error = f"register_{kind}s failed: {type(exc).__name__}: {exc}"
                    log.warning("plugin %r: register_%ss failed: %s", impl.plugin_name, kind, exc)

    def _add_component(self, kind: str, cls: type[Plugin], owner: str) -> None:
        if not cls.name:
            raise PluginError(f"plugin {owner!r} registered {cls.__qualname__} without a `name`")
        previous = self._owner.get((kind, cls.name))
        if previous and previous != owner:
            raise PluginError(f"{kind} {cls.name!r} is registered by both {previous!r} and {owner!r}")
        self.components[kind][cls.name] = cls
        self._owner[(kind, cls.name)] = owner
        register_settings_model(cls.Settings)
        if owner in self.infos:
            self.infos[owner].components.append((kind, cls.name))

    def component(self, kind: str, name: str) -> type[Plugin]:
        """The registered class, or PluginError saying why it is missing."""
        found = self.components[kind].get(name)
        if found is not None:
            return found
        owner = self.infos.get(name)
        if owner and owner.missing_extra:
            raise PluginError(f"{kind} plugin {name!r} is not usable: {owner.error}")
        if owner and owner.error:
            raise PluginError(f"{kind} plugin {name!r} is unavailable: {owner.error}")
        for other in KINDS:
            if name in self.components[other]:
                raise PluginError(f"{name!r} is a {other} plugin, not a{'n' * (kind[0] in 'aeiou')} {kind}")
        known = sorted(self.components[kind])
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        broken = [f"{i.name}: {i.error}" for i in self.infos.values() if i.error and not i.missing_extra]
        failed = f"; plugins that failed to load: {'; '.join(broken)}" if broken else ""
        listed = ", ".join(known) or "none"
        raise PluginError(f"no {kind} plugin named {name!r} is installed{hint} (installed: {listed}){failed}")

    def close_name(self, name: str) -> str:
        """The installed component name closest to `name` ("" if none is close): for typo hints."""
        names = sorted({n for per_kind in self.components.values() for n in per_kind})
        close = difflib.get_close_matches(name, names, n=1)
        return close[0] if close else ""

    def settings_for(self, cls: type[Plugin], config: InterplayConfig) -> Any:
        """Validate `[plugins.<name>]` with the component's Settings model."""
        try:
            return cls.Settings.model_validate(config.plugin_table(cls.name))
        except ValidationError as exc:
            raise PluginError(
                describe_validation_error(exc, config.source, f"plugins.{cls.name}.", config.env_sources)
            ) from None

    def build(self, kind: str, name: str, config: InterplayConfig, context: PluginContext) -> Plugin:
        """Construct one enabled component with its validated settings."""
        cls = self.component(kind, name)
        settings = self.settings_for(cls, config)
        try:
            return cls(settings, context)
        except PluginError:
            raise
        except Exception as exc:
            if (missing := missing_extra(exc, name)) is not None:
                raise missing from None
            raise PluginError(
                f"{kind} plugin {name!r} failed to initialise: {type(exc).__name__}: {exc}"
            ) from exc

    def model_home(self, name: str) -> ModelHome | None:
        """Where the installed plugin `name` keeps its model (its class's `model_home`); None: no model."""
        for kind in KINDS:
            cls = self.components[kind].get(name)
            if cls is not None:
                return cls.model_home
        return None

    def model_root(self, config: InterplayConfig, name: str) -> Path:
        """The model root of plugin `name` as configured; PluginError if it serves no model directory."""
        home = self.model_home(name)
        if home is None:
            classes = [c for per_kind in self.components.values() for c in per_kind.values()]
            known = sorted(c.name for c in classes if c.model_home)
            why = "serves no model directory" if self.close_name(name) == name else "is not installed"
            raise PluginError(f"plugin {name!r} {why} (plugins with models: {', '.join(known) or 'none'})")
        return model_root(config, name, home)

    def model_plugins(self, config: InterplayConfig) -> list[tuple[str, str, ModelHome]]:
        """(kind, name, home) of the enabled generator and analyzers that serve a model directory."""
        pipe = config.pipeline
        wanted = [("generator", pipe.generator)] if pipe.generator else []
        found = []
        for kind, name in [*wanted, *(("analyzer", n) for n in pipe.analyzers)]:
            cls = self.components[kind].get(name)  # a missing one is reported when the bot is built
            if cls is not None and cls.model_home is not None:
                found.append((kind, name, cls.model_home))
        return found

    def unknown_tables(self, config: InterplayConfig) -> list[str]:
        """`[plugins.X]` tables that no installed component is named after (typos)."""
        names = {n for per_kind in self.components.values() for n in per_kind}
        return sorted(set(config.plugins) - names)

    def chat_commands(self, **args: Any) -> list[ChatCommand]:
        """Call `register_chat_commands` (plugins first, defaults last); the first of a name wins.

        `args` are the hook's arguments; each implementation gets the ones it names.
        """
        found: dict[str, tuple[ChatCommand, str]] = {}
        for impl in reversed(self.pm.hook.register_chat_commands.get_hookimpls()):  # pluggy's call order

            def register(
                name: str,
                help: str,
                handler: Handler,
                *,
                admin_only: bool = False,
                _owner: str = impl.plugin_name,
            ) -> None:
                name = name.lstrip("/")
                if name in found:
                    previous = found[name][1]
                    log.debug("chat command /%s of %r is replaced by %r's", name, _owner, previous)
                    return
                found[name] = (ChatCommand(name, help, handler, admin_only), _owner)

            try:
                impl.function(*[register if a == "register" else args[a] for a in impl.argnames])
            except Exception as exc:  # like register_commands: reported, the other plugins' commands work
                log.error(
                    "plugin %r: register_chat_commands failed: %s: %s",
                    impl.plugin_name,
                    type(exc).__name__,
                    exc,
                    exc_info=not isinstance(exc, PluginError),
                )
        return [command for command, _ in found.values()]

    def commands(self, cli: Any) -> None:
        """Let plugins add their CLI commands; a failing plugin is reported, the rest load."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(cli=cli)
            except Exception as exc:
                log.warning("plugin %r: register_commands failed: %s", impl.plugin_name, exc)


def load_registry(
    config: InterplayConfig, extra: dict[str, Any] | None = None, *, installed: bool = True
) -> PluginRegistry:
    """Discover installed plugins (plus any given directly) and collect their components."""
    registry = PluginRegistry()
    if installed:
        registry.load_entry_points()
    for name, module in (extra or {}).items():
        registry.add(name, module)
    registry.collect(config)
    return registry


def plugin_model_root(config: InterplayConfig, name: str) -> Path:
    """Where the installed plugin `name` keeps its model, as its class declares (for CLIs and the trainer)."""
    return load_registry(config).model_root(config, name)
