"""The `[plugins.telegram]` table."""

from __future__ import annotations

from typing import Literal

from interplay.core import PluginSettings, SecretRef
from pydantic import Field, model_validator


class TelegramSettings(PluginSettings):
    """Every key of `[plugins.telegram]`; docs/telegram.md explains each one."""

    token: SecretRef = "$env:TELEGRAM_BOT_TOKEN"
    mode: Literal["polling", "webhook"] = "polling"
    api_url: str = "https://api.telegram.org/bot"  # the token is appended (or fills "{token}")
    file_url: str = "https://api.telegram.org/file/bot"

    # long polling
    poll_timeout: float = Field(25.0, ge=0, le=50)  # getUpdates long-poll seconds
    poll_limit: int = Field(100, ge=1, le=100)

    # webhook
    webhook_url: str = ""  # the public https URL Telegram posts to
    webhook_secret: SecretRef = "$env:TELEGRAM_WEBHOOK_SECRET"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=0, le=65535)  # 0: any free port (tests)
    webhook_path: str = "/telegram"
    webhook_max_connections: int = Field(40, ge=1, le=100)

    # who may talk to the bot, and how much
    allowed_users: list[int] = Field(default_factory=list)  # empty: everyone
    allowed_chats: list[int] = Field(default_factory=list)  # empty: every chat
    user_rate: float = Field(20.0, ge=0)  # messages per minute per user; 0: unlimited
    user_burst: int = Field(5, ge=1)
    rate_limited_reply: str = "You're sending messages faster than I can answer - please slow down a little."
    non_text_reply: str = "I can only read text messages for now - please type your message."
    edited_messages: Literal["answer", "ignore"] = "answer"
    edit_window: float = Field(300.0, ge=0)  # seconds after sending within which an edit is answered

    # replies
    parse_mode: Literal["", "HTML", "MarkdownV2"] = ""  # "": plain text, which never fails
    edit_interval: float = Field(1.0, ge=0)  # seconds between streaming edits of one reply
    typing_interval: float = Field(4.0, gt=0)
    feedback_buttons: bool = True

    # outbound flow control
    max_messages_per_second: float = Field(30.0, ge=0)  # all chats together; 0: no limit
    max_group_messages_per_minute: float = Field(20.0, ge=0)  # per group; 0: no limit
    max_retries: int = Field(5, ge=0)
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    request_timeout: float = Field(10.0, gt=0)
    # httpx connections for sends (polling has its own). Small on purpose: httpcore scans the
    # whole pool on every request, and Telegram's 30 messages/s need only a few connections.
    connection_pool_size: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("mode = \"webhook\" needs webhook_url (the public https URL Telegram posts to)")
        if not self.webhook_path.startswith("/"):
            raise ValueError("webhook_path must start with '/'")
        return self
