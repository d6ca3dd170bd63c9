"""`interplay telegram ...`: check a bot token, or chat with your bot through a local fake Telegram."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
from interplay.core import InterplayError, resolve_secret


def register(cli: click.Group) -> None:
    cli.add_command(telegram_group)


@click.group("telegram")
def telegram_group() -> None:
    """Tools for the Telegram channel."""


@telegram_group.command("check")
@click.pass_obj
def check(obj: Any) -> None:
    """Ask Telegram who the bot is and where its updates go (polling or which webhook)."""
    from telegram import Bot
    from telegram.error import TelegramError

    from .settings import TelegramSettings

    settings = TelegramSettings.model_validate(obj.config.plugin_table("telegram"))
    try:
        token = resolve_secret(settings.token, "the Telegram bot token")
    except InterplayError as exc:
        raise click.ClickException(f"{exc} (BotFather's /token shows it)") from None

    async def ask() -> tuple[Any, Any]:
        async with Bot(token, base_url=settings.api_url) as bot:
            return bot.bot, await bot.get_webhook_info()

    try:
        me, info = asyncio.run(ask())
    except TelegramError as exc:
        raise click.ClickException(f"Telegram said: {str(exc).replace(token, '<token>')}") from None
    click.echo(f"bot: @{me.username} (id {me.id}), can read all group messages: "
               f"{me.can_read_all_group_messages}")
    if info.url:
        click.echo(f"webhook: {info.url}, {info.pending_update_count} update(s) pending"
                   + (f", last error: {info.last_error_message}" if info.last_error_message else ""))
    else:
        click.echo(f"no webhook set: updates wait for polling ({info.pending_update_count} pending)")


@telegram_group.command("fake-server")
@click.option("--port", default=8081, show_default=True, help="port on 127.0.0.1")
@click.option("--token", default="123456:local-fake-token", show_default=True,
              help="the token the bot must use (set TELEGRAM_BOT_TOKEN to it)")
@click.option("--chat", default=1, show_default=True, help="the chat id your lines come from")
@click.option("--wait", default=30.0, show_default=True, help="seconds to wait for replies at end of input")
def fake_server(port: int, token: str, chat: int, wait: float) -> None:
    """Run a local fake Telegram: each line you type is a message to the bot; its replies print here."""
    from .testing.fake_server import FakeTelegram

    def show(method: str, params: dict[str, Any]) -> None:
        if method in ("sendMessage", "editMessageText"):
            verb = "bot>" if method == "sendMessage" else "bot (edit)>"
            click.echo(f"{verb} {params.get('text', '')}")
        elif method in ("setWebhook", "deleteWebhook"):
            click.echo(f"[{method} {json.dumps(params.get('url', ''))}]")

    async def serve() -> None:
        async with FakeTelegram(token, port=port) as fake:
            fake.on_call = show
            click.echo(f"fake Telegram Bot API on {fake.url}: set api_url = \"{fake.api_url}\" and "
                       f"TELEGRAM_BOT_TOKEN={token}; type messages, Ctrl-D to stop", err=True)
            said = 0
            while line := await asyncio.to_thread(sys.stdin.readline):
                if line.strip():
                    fake.say(chat, line.strip())
                    said += 1
            # End of input: give the bot time to answer what was said.
            await fake.wait_for(lambda: len(fake.bot_messages(chat)) >= said, timeout=wait)

    try:
        asyncio.run(serve())
    except AssertionError:
        raise click.ClickException("the bot did not answer every message in time: is it running?") from None
    except KeyboardInterrupt:
        pass
