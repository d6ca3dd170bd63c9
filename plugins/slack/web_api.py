"""The Slack Web API client: slack_sdk's AsyncWebClient with timeouts and Retry-After honoured."""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp
from interplay.core import PluginError
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("interplay.slack")
DEFAULT_BASE_URL = "https://slack.com/api/"


def retry_after(response: HttpResponse) -> float:
    """Seconds Slack asks us to wait (1 when the header is missing or unreadable)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return 1.0


class RetryAfterHandler(AsyncRetryHandler):
    """Retries a 429 after exactly the Retry-After Slack sent, unless that is longer than `max_wait`.

    slack_sdk's own handler adds up to a second of jitter and has no cap; a cap keeps one
    reply from sleeping for minutes while the generation timeout runs.
    """

    def __init__(self, max_retry_count: int = 3, max_wait: float = 30.0, jitter: float = 0.05) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.jitter = jitter

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response)
        if wait > self.max_wait:
            log.warning(
                "Slack asked to wait %.0fs (over max_retry_wait=%.0fs): giving up on %s",
                wait,
                self.max_wait,
                request.url.rsplit("/", 1)[-1],
            )
            return False
        return True

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        wait = retry_after(response)
        log.info("Slack rate limit on %s: retrying in %.1fs", request.url.rsplit("/", 1)[-1], wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait + random.uniform(0, self.jitter))
        state.increment_current_attempt()


def build_client(
    token: str, base_url: str, session: aiohttp.ClientSession, *, max_retries: int, max_wait: float
) -> AsyncWebClient:
    """An AsyncWebClient on our own session (whose ClientTimeout bounds every call)."""
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(),
        RetryAfterHandler(max_retry_count=max_retries, max_wait=max_wait),
    ]
    return AsyncWebClient(token=token, base_url=base_url, session=session, retry_handlers=handlers)


async def bot_user_id(client: AsyncWebClient) -> str:
    """The bot's own user id (auth.test); PluginError saying what to fix when the token is refused."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error") if exc.response else "unknown_error"
        raise PluginError(
            f"Slack refused the bot token ({error}): set SLACK_BOT_TOKEN to the app's xoxb- token"
        ) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise PluginError(
            f"cannot reach the Slack Web API at {client.base_url} ({type(exc).__name__}): "
            "check the network or plugins.slack.api_base_url"
        ) from None
    return str(response["user_id"])
