"""The `interplay` command line."""

from __future__ import annotations

import sys
import traceback
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from .config import InterplayConfig, load_config
from .errors import InterplayError
from .extras import MissingExtra, extra_of
from .logs import setup_logging
from .ops_commands import doctor, new_plugin
from .redaction import redact

if TYPE_CHECKING:
    from .assembly import Role


class CliState:
    """Shared by all commands: where config comes from, loaded on first use."""

    def __init__(self, config_path: str | None, overrides: dict[str, Any]) -> None:
        self.config_path = config_path
        self.overrides = overrides

    @cached_property
    def config(self) -> InterplayConfig:
        return load_config(self.config_path, self.overrides)


GLOBAL_OPTIONS = ("--config", "--log-level")


def hoist_global_options(args: list[str]) -> list[str]:
    """`interplay chat --config F` is `interplay --config F chat`: global options may follow the command."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and rest:  # before the command they are already in place
            takes_value = "=" not in arg and i + 1 < len(args)
            front += args[i : i + 2] if takes_value else [arg]
            i += 2 if takes_value else 1
            continue
        (rest if rest or not _is_global_at(args, i) else front).append(arg)
        i += 1
    return front + rest


def _is_global_at(args: list[str], i: int) -> bool:
    """True for a token before the command: an option, or the value of a global option."""
    if args[i].startswith("-"):
        return True
    return i > 0 and args[i - 1] in GLOBAL_OPTIONS


class InterplayGroup(click.Group):
    """Adds plugin commands lazily and prints InterplayError as one line, not a traceback."""

    _plugins_loaded = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def _load_plugin_commands(self) -> None:
        if not self._plugins_loaded:
            self._plugins_loaded = True
            from .plugins import PluginRegistry

            registry = PluginRegistry()
            registry.load_entry_points()
            registry.commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is None:
            self._load_plugin_commands()
            found = super().get_command(ctx, name)
        return found

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except ModuleNotFoundError as exc:  # a command of an extra that is not installed
                found = extra_of(exc, "train")
                if found is None:
                    raise
                command = f"interplay {ctx.invoked_subcommand or ''}".strip()
                raise MissingExtra(*found, f"`{command}`") from None
        except InterplayError as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            for line in lines:
                click.secho(f"error: {redact(line)}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=InterplayGroup, epilog="Global options may follow the command: interplay chat --config F")
@click.option(
    "--config",
    "config_path",
    envvar="INTERPLAY_CONFIG",
    type=click.Path(dir_okay=False),
    help="config file (default: ./config.toml if present, else built-in defaults)",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default=None,
    help="override [interplay] log_level",
)
@click.version_option(package_name="interplay")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Interplay: chatbots that learn from the people they talk to."""
    overrides = {"interplay.log_level": log_level} if log_level else {}
    ctx.obj = CliState(config_path, overrides)


def _run_bot(config: InterplayConfig, role: Role = "all", name: str | None = None) -> None:
    from .assembly import build_bot
    from .runner import run

    setup_logging(config.interplay.log_level, config.interplay.log_json)
    run(build_bot(config, role=role, name=name).run_forever())


@cli.command()
@click.option("--generator", help="generator plugin to use (overrides [pipeline] generator)")
@click.option("--debug", is_flag=True, help="show NLU tags, latency and model version after each reply")
@click.option("--memory", is_flag=True, help="keep this chat in memory only (nothing written to disk)")
@click.option(
    "--jsonl",
    is_flag=True,
    help="print each reply as one JSON object (text, source, model_version, annotations), for scripts",
)
@click.pass_obj
def chat(obj: CliState, generator: str | None, debug: bool, memory: bool, jsonl: bool) -> None:
    """Chat with the bot in this terminal, or pipe lines in: one reply per line (newlines as \\n)."""
    config = obj.config
    pipeline = config.pipeline.model_copy(
        update={"channels": ["console"], **({"generator": generator} if generator else {})}
    )
    plugins = dict(config.plugins)
    if debug or jsonl:
        console = {**plugins.get("console", {}), **({"debug": True} if debug else {})}
        plugins["console"] = {**console, **({"output": "jsonl"} if jsonl else {})}
    update: dict[str, Any] = {"pipeline": pipeline, "plugins": plugins}
    if memory:
        update["store"] = config.store.model_copy(update={"backend": "memory"})
    overrides = {"interplay.log_level": "WARNING", **obj.overrides}
    quiet = config.interplay.model_copy(update={"log_level": overrides["interplay.log_level"]})
    _run_bot(config.model_copy(update={**update, "interplay": quiet}))


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "ingress"]),
    default=None,
    help='all: one process does everything; ingress: channels only, `interplay worker`s answer '
    '(needs [bus] backend = "redis", where it is the default)',
)
@click.option("--name", help="ingress name: one per process, stable across restarts (default: host:channels)")
@click.pass_obj
def run(obj: CliState, role: str | None, name: str | None) -> None:
    """Run the bot on every channel enabled in [pipeline] channels."""
    config = obj.config
    if role == "ingress" or (role is None and config.bus.backend == "redis"):
        _run_bot(config, "ingress", name)
    else:
        _run_bot(config)


@cli.command()
@click.option("--name", help="worker name, unique per process (default: host:pid)")
@click.pass_obj
def worker(obj: CliState, name: str | None) -> None:
    """Answer messages from the Redis streams: analyzers, skills and the generator (scale-out)."""
    _run_bot(obj.config, "worker", name)


@cli.command("check-config")
@click.pass_obj
def check_config(obj: CliState) -> None:
    """Validate config.toml and every plugin table; report all problems, exit 1 if any.

    Enabled plugins must be installed with valid settings (errors); a bad table of an installed
    plugin that is not enabled is a warning.
    """
    from .plugins import load_registry

    config = obj.config
    registry = load_registry(config)
    problems: list[str] = []
    for table in registry.unknown_tables(config):
        close = registry.close_name(table)
        hint = f" (did you mean [plugins.{close}]?)" if close else ""
        problems.append(f"{config.source}: [plugins.{table}] names no installed plugin{hint}")
    wanted = enabled_plugins(config)
    for kind, name in wanted:
        try:
            registry.settings_for(registry.component(kind, name), config)
        except InterplayError as exc:
            problems.append(str(exc))
    for line in _idle_table_warnings(registry, config, {name for _, name in wanted}):
        click.secho(f"warning: {redact(line)}", fg="yellow", err=True)
    if problems:
        raise InterplayError("\n".join(problems))
    overrides = f" + {len(config.env_sources)} environment override(s)" if config.env_sources else ""
    click.echo(f"{config.source}{overrides}: OK ({len(wanted)} plugins enabled)")


def enabled_plugins(config: InterplayConfig) -> list[tuple[str, str]]:
    """(kind, name) of every plugin the [pipeline] lists enable, in order."""
    pipe = config.pipeline
    wanted = [("channel", n) for n in pipe.channels] + [("analyzer", n) for n in pipe.analyzers]
    wanted += [("skill", n) for n in pipe.skills]
    return wanted + ([("generator", pipe.generator)] if pipe.generator else [])


def _idle_table_warnings(registry: Any, config: InterplayConfig, enabled: set[str]) -> list[str]:
    """Problems in the tables of installed plugins that are not enabled (they bite once enabled)."""
    lines = []
    for kind, per_kind in registry.components.items():
        for name, cls in sorted(per_kind.items()):
            if name in enabled or name not in config.plugins:
                continue
            try:
                registry.settings_for(cls, config)
            except InterplayError as exc:
                lines += [f"{line} ({kind} {name!r} is not enabled)" for line in str(exc).splitlines()]
    return lines


@cli.command("plugins")
@click.pass_obj
def plugins_cmd(obj: CliState) -> None:
    """List installed plugins: name, kind, version, source and whether config enables them."""
    from .plugins import load_registry

    config = obj.config
    registry = load_registry(config)
    pipe = config.pipeline
    enabled = {*pipe.channels, *pipe.analyzers, *pipe.skills, pipe.generator}
    rows = [("NAME", "KIND", "VERSION", "SOURCE", "STATUS")]
    for info in sorted(registry.infos.values(), key=lambda i: i.name):
        if info.missing_extra:
            rows.append((info.name, "?", info.version, info.source, f"not usable: {info.error}"))
        elif info.error:
            rows.append((info.name, "?", info.version, info.source, f"broken: {info.error}"))
        for kind, name in info.components:
            rows.append(
                (name, kind, info.version, info.source, "enabled" if name in enabled else "available")
            )
        if not info.components and not info.error:
            rows.append((info.name, "commands", info.version, info.source, "loaded"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[4])


cli.add_command(doctor)
cli.add_command(new_plugin)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="interplay")
    except Exception:  # a bug: it keeps its traceback, but never with a secret in it
        sys.stderr.write(redact(traceback.format_exc()))
        sys.exit(1)


if __name__ == "__main__":
    main()
