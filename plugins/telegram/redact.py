"""Keep the bot token out of logs and error text (python-telegram-bot and httpx put it in URLs)."""

from __future__ import annotations

import logging

# Loggers whose records may carry a request URL: httpx logs every request at INFO.
_FORMATTER = logging.Formatter()
LOGGERS = ("httpx", "httpcore", "telegram", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application",
           "telegram.ext.AIORateLimiter", "telegram.request.BaseRequest", "telegram.request.HTTPXRequest",
           "interplay.telegram")


class TokenRedactor(logging.Filter):
    """Rewrites any record that contains the token so that it reads `<token>` instead."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = self.redact(message), None
        if record.exc_info and self.token:
            # Chained exceptions (httpx) name the URL. Formatters differ in how they print
            # tracebacks, so a tainted one moves into the message, redacted.
            trace = record.exc_text or _FORMATTER.formatException(record.exc_info)
            if self.token in trace:
                record.msg, record.args = f"{record.getMessage()}\n{self.redact(trace)}", None
                record.exc_info, record.exc_text = None, None
        return True

    def install(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).addFilter(self)
        for handler in (*logging.getLogger().handlers, *logging.getLogger("interplay").handlers):
            handler.addFilter(self)

    def uninstall(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(self)
        for handler in (*logging.getLogger().handlers, *logging.getLogger("interplay").handlers):
            handler.removeFilter(self)
