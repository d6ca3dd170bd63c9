"""`interplay webchat token`: sign a session token for a known user (pages with `anonymous = false`)."""

from __future__ import annotations

from typing import Any

import click
from interplay.core import resolve_secret


@click.group("webchat")
def webchat_group() -> None:
    """Tools for the web chat channel."""


@webchat_group.command("token")
@click.argument("user")
@click.option("--conversation", default=None, help="conversation id (default: web:<user>)")
@click.option("--ttl", default=86400.0, show_default=True, help="seconds the token is valid")
@click.pass_obj
def token(obj: Any, user: str, conversation: str | None, ttl: float) -> None:
    """Print a session token; open the page as http://HOST:PORT/#token=<it>."""
    from .auth import SessionSigner
    from .settings import WebchatSettings

    settings = WebchatSettings.model_validate(obj.config.plugin_table("webchat"))
    signer = SessionSigner(resolve_secret(settings.secret, "the webchat secret ([plugins.webchat] secret)"))
    click.echo(signer.sign(user, conversation, ttl=ttl))
