"""The `[plugins.webchat]` table."""

from __future__ import annotations

from interplay.core import PluginSettings, SecretRef
from pydantic import Field


class WebchatSettings(PluginSettings):
    """Where the server listens, who may talk to it, and how long a session lasts."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)  # 0: any free port (tests)
    secret: SecretRef = "$env:WEBCHAT_SECRET"  # signs session tokens: one per deployment, 16+ characters
    api_token: SecretRef = ""  # "$env:WEBCHAT_API_TOKEN" turns the HTTP API on; empty: no API
    allowed_origins: list[str] = Field(default_factory=list)  # pages elsewhere that may embed the chat
    anonymous: bool = True  # the page may ask for a session for a new visitor; False: tokens come from you
    session_ttl: float = Field(7 * 86400, gt=0)  # seconds a session token is valid
    title: str = "Interplay"
    history_turns: int = Field(50, ge=0, le=1000)  # shown when the page (re)connects
    reply_timeout: float = Field(180.0, gt=0)  # seconds an API call waits for its reply
    auth_timeout: float = Field(10.0, gt=0)  # seconds a new WebSocket has to authenticate
