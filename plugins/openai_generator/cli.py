"""`interplay serve-openai`: the configured generator behind an OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import click
from interplay.core import resolve_secret


@click.command("serve-openai")
@click.option("--generator", help="generator plugin to serve (default: [pipeline] generator)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--api-key", default="", help='a secret reference clients must send, e.g. "$env:SERVE_KEY"')
@click.option("--model", default=None, help="the model name clients use (default: the model version)")
@click.pass_obj
def serve_openai(
    obj: Any, generator: str | None, host: str, port: int, api_key: str, model: str | None
) -> None:
    """Serve a generator at http://HOST:PORT/v1/chat/completions (streamed or whole) and /v1/models."""
    from interplay.core.logs import setup_logging
    from interplay.core.runner import run

    config = obj.config
    name = generator or config.pipeline.generator
    if not name:
        raise click.UsageError("no generator: pass --generator or set [pipeline] generator")
    key = resolve_secret(api_key, "the --api-key of serve-openai") if api_key else ""
    setup_logging(config.interplay.log_level, config.interplay.log_json)
    run(serve(config, name, host, port, key, model))


async def serve(config: Any, name: str, host: str, port: int, api_key: str, model: str | None) -> None:
    """Start the generator and the server; run until SIGINT or SIGTERM."""
    from aiohttp import web
    from interplay.core import PluginContext
    from interplay.core.plugins import load_registry
    from interplay.core.store import MemoryStore

    from .server import OpenAIServer

    registry = load_registry(config)
    plugin: Any = registry.build(
        "generator", name, config, PluginContext(MemoryStore(), config.data_dir, config)
    )
    await plugin.start()
    runner: web.AppRunner | None = None
    try:
        server = OpenAIServer(plugin, api_key=api_key, model=model)
        runner = web.AppRunner(server.app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        click.echo(f"serving generator {name!r} as model {server.model!r} at http://{host}:{port}/v1")
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await plugin.stop()
