"""`OpenAIGenerator`: streams chat completions from an OpenAI-compatible server with the official client.

Retries (429, 5xx, a lost connection, a timeout) happen only while no text has reached the channel:
once a delta is out, a failure ends the reply (the pipeline adds the fallback note) rather than
asking again and sending the person the start of a second, different answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from interplay.core import Conversation, Generator, ModelError, PluginError, PluginSettings, resolve_secret
from interplay.core.extras import requires_extra

from ..onnx_generator.prompting import PromptPolicy, system_message
from .settings import OpenAIGeneratorSettings

log = logging.getLogger("interplay.openai")
Chat = list[dict[str, str]]


class Retryable(Exception):
    """A failure worth asking again for, with how long the server asked us to wait."""

    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.wait = wait


class OpenAIGenerator(Generator):
    """Replies from a remote (or local) OpenAI-compatible chat-completions endpoint."""

    name = "openai"
    Settings: ClassVar[type[PluginSettings]] = OpenAIGeneratorSettings
    settings: OpenAIGeneratorSettings

    def __init__(self, settings: PluginSettings, context: Any) -> None:
        super().__init__(settings, context)
        s = self.settings
        self.policy = PromptPolicy(
            s.system_prompt, s.instructions, s.intent_system_prompts, s.annotation_min_confidence
        )
        self.client: Any = None
        self.requests = 0  # chat-completion requests sent (retries included), for tests and logs

    @property
    def model_version(self) -> str:
        return self.settings.model

    async def start(self) -> None:
        with requires_extra("openai", "generator plugin 'openai'"):
            import openai
        s = self.settings
        key = resolve_secret(s.api_key, "the API key of [plugins.openai]") if s.api_key else "none"
        self.client = openai.AsyncOpenAI(
            base_url=s.base_url.rstrip("/"), api_key=key, timeout=s.timeout, max_retries=0
        )
        if s.check_at_start:
            await self._check()

    async def _check(self) -> None:
        import openai

        s = self.settings
        try:
            models = [m.id async for m in self.client.models.list()]
        except openai.AuthenticationError:
            raise PluginError(
                f"{s.base_url} refused the API key (401): check api_key in [plugins.openai]"
            ) from None
        except openai.APIStatusError as exc:
            if exc.status_code == 404:  # some servers have no /models; the first reply will tell
                return
            raise PluginError(f"{s.base_url}/models answered {exc.status_code}: {_said(exc)}") from None
        except openai.APIConnectionError as exc:
            raise PluginError(
                f"cannot reach {s.base_url} ({_cause(exc)}): start the server or fix base_url in "
                "[plugins.openai] (check_at_start = false skips this check)"
            ) from None
        if models and s.model not in models:
            log.warning("%s does not list the model %r (it lists %s)", s.base_url, s.model, ", ".join(models))

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    # -- the prompt ----------------------------------------------------------------------------
    def chat(self, conversation: Conversation) -> Chat:
        """System prompt, as many recent turns as fit `context_chars`, and the new message."""
        system = system_message(self.policy, conversation.message.annotations)
        head = [{"role": "system", "content": system}] if system else []
        tail = [{"role": "user", "content": conversation.message.text}]
        room = self.settings.context_chars - sum(len(m["content"]) for m in head + tail)
        turns: Chat = []
        for turn in reversed(conversation.history):
            room -= len(turn.text)
            if room < 0:
                break
            turns.insert(0, {"role": turn.role, "content": turn.text})
        return [*head, *turns, *tail]

    # -- streaming -----------------------------------------------------------------------------
    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:  # type: ignore[override]
        if self.client is None:
            raise ModelError("the openai generator is not started")
        s = self.settings
        chat = self.chat(conversation)
        delivered = 0
        for attempt in range(s.retries + 1):
            try:
                async for delta in self._once(chat):
                    delivered += len(delta)
                    yield delta
                return
            except Retryable as exc:
                if delivered:
                    raise ModelError(
                        f"the reply from {s.base_url} broke off after {delivered} characters ({exc}); "
                        "not asked again, so nothing is sent twice"
                    ) from None
                if attempt == s.retries:
                    raise ModelError(f"{s.base_url}: {exc}, {attempt + 1} attempt(s), giving up") from None
                wait = exc.wait if exc.wait is not None else s.retry_delay * 2**attempt
                if wait > s.max_retry_delay:
                    raise ModelError(
                        f"{s.base_url}: {exc}; asked to wait {wait:.0f}s, more than max_retry_delay"
                    ) from None
                log.info("%s: %s; retrying in %.1fs", s.base_url, exc, wait)
                await asyncio.sleep(wait)

    async def _once(self, chat: Chat) -> AsyncIterator[str]:
        """One request; a failure worth retrying becomes Retryable, others a ModelError saying why."""
        import openai

        s = self.settings
        self.requests += 1
        started = time.perf_counter()
        try:
            stream = await self.client.chat.completions.create(
                model=s.model,
                messages=chat,
                stream=True,
                max_tokens=s.max_tokens,
                temperature=s.temperature,
                top_p=s.top_p,
                **({"seed": s.seed} if s.seed is not None else {}),
                **({"stop": s.stop} if s.stop else {}),
            )
            try:
                async for chunk in stream:
                    for choice in chunk.choices:
                        if choice.delta is not None and choice.delta.content:
                            yield choice.delta.content
            finally:
                await stream.close()
        except openai.APIStatusError as exc:
            raise _status_error(exc, s.model, s.base_url) from None
        except (openai.APITimeoutError, TimeoutError):
            raise Retryable(f"no answer within {s.timeout:.0f}s") from None
        except openai.APIConnectionError as exc:
            raise Retryable(f"connection failed: {_cause(exc)}") from None
        except openai.APIError as exc:  # an error event inside the stream
            raise Retryable(f"the server reported an error in the stream: {exc.message}") from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "anyio"):
                raise Retryable(f"the stream was cut: {type(exc).__name__}") from None  # a dropped connection
            raise
        log.debug("%s answered in %.2fs", s.base_url, time.perf_counter() - started)


def _status_error(exc: Any, model: str, base_url: str) -> Exception:
    status = exc.status_code
    if status == 429 or status >= 500:
        return Retryable(f"HTTP {status} {_said(exc)}".strip(), _retry_after(exc))
    if status == 401:
        return ModelError(f"{base_url} refused the API key (401): check api_key in [plugins.openai]")
    if status == 404:
        return ModelError(f"{base_url} has no model {model!r} or no chat completions (404): {_said(exc)}")
    return ModelError(f"{base_url} refused the request (HTTP {status}): {_said(exc)}")


def _retry_after(exc: Any) -> float | None:
    raw = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _said(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", "") or "")


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {cause}" if cause else str(exc)
