"""The Telegram channel: python-telegram-bot's Application embedded in Interplay's event loop.

The Application owns the HTTP client, the Bot and the rate limiter; Interplay's own loop does
the fetching (polling.py or webhook.py), because an update may be confirmed to Telegram only
after the core has stored it, which PTB's Updater cannot wait for.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from interplay.core import (
    Channel,
    ConfigError,
    Inbox,
    Message,
    PluginError,
    Reply,
    ReplyStream,
    resolve_secret,
)
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from .feedback import FeedbackButtons, keyboard
from .inbound import ALLOWED_UPDATES, Answer, Press, Skip, Submit, UpdateRouter, target_of
from .outbound import SendFailed, TelegramSender, Undeliverable
from .polling import Poller
from .redact import TokenRedactor
from .settings import TelegramSettings
from .streaming import ReplyWriter, typing
from .webhook import WebhookServer

log = logging.getLogger("interplay.telegram")


class TelegramChannel(Channel[TelegramSettings]):
    """Talks to people through a Telegram bot, by long polling or a webhook."""

    name = "telegram"
    Settings = TelegramSettings

    def __init__(self, settings: TelegramSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.app: Application | None = None  # type: ignore[type-arg]
        self.redactor = TokenRedactor("")
        self.sender: TelegramSender | None = None
        self.router: UpdateRouter | None = None
        self.buttons: FeedbackButtons | None = None
        self.poller: Poller | None = None
        self.webhook: WebhookServer | None = None
        self.inbox: Inbox | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._webhook_secret = ""

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        token = self._secret(self.settings.token, "the Telegram bot token", "TELEGRAM_BOT_TOKEN")
        if self.settings.mode == "webhook":  # checked now: a missing secret must stop the start
            self._webhook_secret = self._secret(self.settings.webhook_secret, "a webhook secret token",
                                                "TELEGRAM_WEBHOOK_SECRET")
        self.redactor = TokenRedactor(token)
        self.redactor.install()
        self.app = self._build(token)
        try:
            await self.app.initialize()  # getMe: proves the token and learns the bot's username
        except InvalidToken:
            raise PluginError("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN "
                              "(BotFather's /token shows it)") from None
        except TelegramError as exc:
            raise PluginError(f"cannot reach Telegram at {self._api_host()}: "
                              f"{self.redactor.redact(str(exc))}") from None
        await self.app.start()
        me = self.app.bot
        self.sender = TelegramSender(me, self.settings, self.redactor.redact)
        self.router = UpdateRouter(self.settings, self.name, me.id, me.username or "")
        self.buttons = FeedbackButtons(self.name, self.sender, self.context.store)
        log.info("telegram bot @%s ready (%s mode)", me.username, self.settings.mode)

    def _secret(self, ref: str, what: str, env: str) -> str:
        try:
            return resolve_secret(ref, what)
        except ConfigError as exc:
            raise PluginError(f"plugin 'telegram' needs {what}: set {env} ({exc})") from None

    def _build(self, token: str) -> Application:  # type: ignore[type-arg]
        s = self.settings
        limiter = AIORateLimiter(overall_max_rate=s.max_messages_per_second, overall_time_period=1,
                                 group_max_rate=s.max_group_messages_per_minute, group_time_period=60,
                                 max_retries=0)  # 429s are retried by TelegramSender, with the rest
        return (
            ApplicationBuilder().token(token).base_url(s.api_url).base_file_url(s.file_url)
            .updater(None).rate_limiter(limiter).connection_pool_size(s.connection_pool_size)
            .connect_timeout(s.request_timeout).read_timeout(s.request_timeout)
            .write_timeout(s.request_timeout).pool_timeout(s.request_timeout)
            .get_updates_connect_timeout(s.request_timeout).get_updates_pool_timeout(s.request_timeout)
            .build()
        )

    def _api_host(self) -> str:
        return self.settings.api_url.split("/bot")[0]

    async def open(self, inbox: Inbox) -> None:
        assert self.app is not None, "start() first"
        self.inbox = inbox
        if self.settings.mode == "webhook":
            await self._open_webhook()
        else:
            await self._drop_webhook()
            self.poller = Poller(self.app.bot, self.handle, self.settings, self.redactor.redact)
            self._spawn(self.poller.run())

    async def _drop_webhook(self) -> None:
        """getUpdates is refused while a webhook is set; pending updates are kept."""
        assert self.sender is not None and self.app is not None
        bot = self.app.bot
        info = await self.sender.call("getWebhookInfo", None, bot.get_webhook_info)
        if info.url:
            log.info("removing the webhook %s to poll instead", info.url)
            await self.sender.call("deleteWebhook", None,
                                   lambda: bot.delete_webhook(drop_pending_updates=False))

    async def _open_webhook(self) -> None:
        assert self.sender is not None and self.app is not None
        secret = self._webhook_secret
        self.webhook = WebhookServer(self.app.bot, self.handle, self.settings, secret)
        await self.webhook.start()
        bot, s = self.app.bot, self.settings
        # Calling setWebhook with the same arguments again is harmless, and pending updates stay
        # queued at Telegram (drop_pending_updates=False), so restarts are idempotent.
        await self.sender.call("setWebhook", None, lambda: bot.set_webhook(
            s.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
            max_connections=s.webhook_max_connections, drop_pending_updates=False,
        ))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)
        if self.webhook is not None:
            await self.webhook.stop()
        if self.app is not None:
            try:
                if self.app.running:
                    await self.app.stop()
                await self.app.shutdown()
            finally:
                self.app = None
        self.redactor.uninstall()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound ---------------------------------------------------------------------------
    async def handle(self, update: Any) -> None:
        """Act on one update; returns once it may be confirmed (BusClosed: leave it unconfirmed)."""
        assert self.router is not None and self.inbox is not None and self.sender is not None
        action = self.router.route(update)
        if isinstance(action, Skip):
            log.debug("update %d skipped: %s", update.update_id, action.why)
            return
        if isinstance(action, Submit):
            self.sender.forgive(action.message.meta["chat_id"])
            await self.inbox.submit(action.message)
            return
        # Answered here rather than by the core: the update id still guards against re-delivery.
        if await self.context.store.seen(self.name, str(update.update_id)):
            return
        if isinstance(action, Answer):
            self._spawn(self._answer(action))
        elif isinstance(action, Press):
            self._spawn(self._press(action))

    async def _answer(self, action: Answer) -> None:
        assert self.sender is not None
        target = action.target
        try:
            await self.sender.send_message(target.chat_id, action.text, reply_to=target.reply_to,
                                           thread_id=target.thread_id)
        except (Undeliverable, SendFailed) as exc:
            log.debug("local answer not sent: %s", exc)

    async def _press(self, action: Press) -> None:
        assert self.inbox is not None and self.buttons is not None
        try:
            await self.buttons.press(action.query, self.inbox)
        except (Undeliverable, SendFailed) as exc:
            log.debug("feedback press not fully acknowledged: %s", exc)

    # -- outbound --------------------------------------------------------------------------
    async def send(self, reply: ReplyStream) -> None:
        """Stream the reply into Telegram messages; a refused chat raises Undeliverable (logged once)."""
        assert self.sender is not None
        target = target_of(reply.message)
        writer = ReplyWriter(self.sender, target, self.settings.edit_interval)
        rated = self.settings.feedback_buttons and reply.source.rated  # the core's one rule
        try:
            async with typing(self.sender, target, self.settings.typing_interval):
                async for _ in reply:
                    writer.update(reply.text)
                await writer.finish(reply.text, keyboard(reply.id) if rated else None)
        finally:
            await writer.close()
            if writer.first_message_id is not None:
                reply.external_id = str(writer.first_message_id)

    async def delivered(self, message: Message, reply: Reply) -> None:
        log.debug("reply %s stored for update %s", reply.id, message.external_id)
