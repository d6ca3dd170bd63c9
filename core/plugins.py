"""Plugin discovery (entry-point group `interplay`) and the registry of components."""

from __future__ import annotations

import importlib.metadata as md
import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy
from pydantic import ValidationError

from . import hookspecs
from .config import InterplayConfig, describe_validation_error, register_settings_model
from .contracts import Plugin, PluginContext
from .errors import PluginError
from .extras import MissingExtra, extra_of

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


def _missing_extra(exc: BaseException, plugin: str) -> MissingExtra | None:
    """MissingExtra for a plugin whose import failed on an optional dependency; else None."""
    if isinstance(exc, MissingExtra):
        return exc
    if isinstance(exc, ModuleNotFoundError) and (found := extra_of(exc)) is not None:
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
                missing = _missing_extra(exc, ep.name)
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
        self.pm.register(module, name=name)
        self.pm.check_pending()

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
                    missing = _missing_extra(exc, impl.plugin_name)
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
        known = ", ".join(sorted(self.components[kind])) or "none"
        raise PluginError(f"no {kind} plugin named {name!r} is installed (installed: {known})")

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
            if (missing := _missing_extra(exc, name)) is not None:
                raise missing from None
            raise PluginError(
                f"{kind} plugin {name!r} failed to initialise: {type(exc).__name__}: {exc}"
            ) from exc

    def unknown_tables(self, config: InterplayConfig) -> list[str]:
        """`[plugins.X]` tables that no installed component is named after (typos)."""
        names = {n for per_kind in self.components.values() for n in per_kind}
        return sorted(set(config.plugins) - names)

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
