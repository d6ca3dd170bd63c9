"""`interplay slack ...`: check a deployment's endpoint, or try the channel without a Slack workspace."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from interplay.core import resolve_secret


@click.group("slack")
def slack_group() -> None:
    """Tools for the Slack channel."""


@slack_group.command("send")
@click.argument("text")
@click.option("--url", default=None, help="where the bot listens (default: from [plugins.slack] host/port)")
@click.option("--channel", default=None, help="channel id (default: C0LOCAL, D0LOCAL with --dm)")
@click.option("--dm", is_flag=True, help="send a direct message (message.im) instead of an app_mention")
@click.option("--user", default="U0LOCAL", show_default=True)
@click.pass_obj
def send(obj: Any, text: str, url: str | None, channel: str | None, dm: bool, user: str) -> None:
    """Post one event to the bot, signed like Slack signs it, and print the answer's status."""
    from .channel import SlackSettings
    from .testing import SlackEventSender, direct_message, mention

    settings = SlackSettings.model_validate(obj.config.plugin_table("slack"))
    secret = resolve_secret(settings.signing_secret, "the Slack signing secret")
    base = url or f"http://{settings.host}:{settings.port}"
    if dm:
        payload = direct_message(channel or "D0LOCAL", text, user=user)
    else:
        payload = mention(channel or "C0LOCAL", text, user=user)

    async def post() -> tuple[int, str]:
        async with SlackEventSender(base, secret, events_path=settings.events_path) as sender:
            return await sender.post_event(payload)

    status, body = asyncio.run(post())
    click.echo(f"{status} {body}".rstrip())
    if status == 200:
        click.echo(f"event {payload['event_id']} accepted: the reply goes to {settings.api_base_url}")
    else:
        raise SystemExit(1)


@slack_group.command("fake-api")
@click.option("--port", default=8099, show_default=True, help="port on 127.0.0.1")
@click.option(
    "--token",
    envvar="SLACK_BOT_TOKEN",
    default="xoxb-local",
    show_default=True,
    help="the bot token it accepts (default: $SLACK_BOT_TOKEN)",
)
def fake_api(port: int, token: str) -> None:
    """Run the fake Slack Web API and print what the bot posts (Ctrl-C to stop)."""
    from .testing.fake_api import FakeSlackAPI

    def show(method: str, args: dict[str, Any]) -> None:
        if "text" not in args:
            click.echo(method)
            return
        where = args.get("channel", "")
        thread = f" thread {args['thread_ts']}" if args.get("thread_ts") else ""
        click.echo(f"{method} {where}{thread}: {json.dumps(args.get('text', ''), ensure_ascii=False)}")

    async def serve() -> None:
        async with FakeSlackAPI(token=token, port=port, listener=show) as fake:
            click.echo(f"fake Slack Web API on {fake.base_url}  (set [plugins.slack] api_base_url to this)")
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


def register(cli: click.Group) -> None:
    """Add `interplay slack` to the command line."""
    cli.add_command(slack_group)
