"""The `onnx` generator: streams replies from an ONNX decoder through the shared batch engine."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from interplay.core import Conversation, Generator, ModelError, ModelHome, PluginContext
from interplay.core.model_dir import choose_device

from . import model_dir
from .detokenize import IncrementalDetokenizer, SentenceEnd
from .engine import FINISH, BatchEngine, Request
from .prompting import PromptBuilder, PromptPolicy
from .sampling import SamplingParams
from .session import DecoderSession
from .settings import OnnxGeneratorSettings
from .tokenizer import ChatTokenizer

log = logging.getLogger("interplay.plugins.onnx")


class OnnxGenerator(Generator[OnnxGeneratorSettings]):
    """Chat replies from a local ONNX model (SmolLM2-135M-Instruct by default)."""

    name: ClassVar[str] = "onnx"
    Settings = OnnxGeneratorSettings
    # one name: plugin, table, `--only` and model directory are all `onnx`; earlier releases used `generator`
    model_home = ModelHome("onnx", legacy=("generator",))

    def __init__(self, settings: OnnxGeneratorSettings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.model: model_dir.ModelDirectory | None = None
        self.engine: BatchEngine | None = None
        self.tokenizer: Any = None
        self.prompts: PromptBuilder | None = None
        self.last_finish: str | None = None  # why the latest reply ended (tests, logs)

    @property
    def model_version(self) -> str | None:
        return self.model.version if self.model else None

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    async def stop(self) -> None:
        if self.engine is not None:
            await asyncio.to_thread(self.engine.stop)
            self.engine = None

    def _root(self) -> Path:
        if self.settings.model_dir is not None:
            return self.settings.model_dir
        config = getattr(self.context, "config", None)
        if config is None or not hasattr(config, "models_dir"):
            raise ModelError("no model_dir in [plugins.onnx] and no models_dir configured")
        return self.model_home.root(config.models_dir)

    def _load(self) -> None:
        s = self.settings
        device = choose_device(s.device)  # ModelError for "cuda" where ONNX Runtime cannot use it
        precision = model_dir.choose_precision(s.precision, device == "cuda")
        self.model = model_dir.resolve(self._root(), precision, verify_sha256=s.verify_sha256)
        self.tokenizer = load_tokenizer(self.model.path)
        session = DecoderSession(self.model.onnx_path, device=device, threads=s.threads)
        context = min(s.context_tokens, self.model.context_length)
        policy = PromptPolicy(s.system_prompt, s.instructions, s.intent_system_prompts,
                              s.annotation_min_confidence)
        # the reply keeps room for max_new_tokens, but never more than half the context
        reserve = min(s.max_new_tokens, context // 2)
        self.prompts = PromptBuilder(self.tokenizer, policy, budget=context - reserve)
        # a reply ends at the template's end-of-turn token even where the manifest does not list it
        stop = self.model.stop_token_ids | self.tokenizer.end_of_turn_ids()
        self.engine = BatchEngine(session, stop, max_batch=s.max_batch, context_length=context)
        self.engine.start()
        log.info("onnx generator: %s on %s (%s)", self.model.version, device, self.model.path)

    def sampling(self, **overrides: Any) -> SamplingParams:
        """The configured sampling parameters, with per-call overrides."""
        s = self.settings
        values: dict[str, Any] = {
            "max_new_tokens": s.max_new_tokens, "temperature": s.temperature, "top_p": s.top_p,
            "top_k": s.top_k, "repetition_penalty": s.repetition_penalty, "seed": s.seed,
            "stop": tuple(s.stop),
        }
        values.update(overrides)
        return SamplingParams(**values)

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        """Reply text deltas for the conversation's newest message."""
        if self.prompts is None:
            raise ModelError("the onnx generator is not started")
        prompt_ids = await asyncio.to_thread(self.prompts.build, conversation)
        wrap_up = self.settings.wrap_up_tokens
        async for delta in self.stream_ids(prompt_ids, self.sampling(), wrap_up=wrap_up):
            yield delta

    async def stream_ids(self, prompt_ids: list[int], params: SamplingParams, *,
                         wrap_up: int = 0) -> AsyncIterator[str]:
        """Text deltas for a tokenised prompt. Closing the iterator cancels the request.

        With `wrap_up`, a reply longer than that many tokens ends at the next sentence end.
        """
        detok = IncrementalDetokenizer(self.tokenizer, params.stop)
        ending = SentenceEnd(wrap_up)
        async for token in self.tokens(prompt_ids, params):
            ending.count()
            text = detok.push(token)
            if text and ending.ends_before(text):
                self.last_finish = "sentence_end"
                return
            if text:
                yield text
            if detok.stopped:
                self.last_finish = "stop_string"
                return
        tail = detok.flush()
        if tail:
            yield tail

    async def tokens(self, prompt_ids: list[int], params: SamplingParams) -> AsyncIterator[int]:
        """Generated token ids as the engine produces them; leaving early cancels the request."""
        if self.engine is None:
            raise ModelError("the onnx generator is not started")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the event loop is gone: nobody is listening any more
                request.cancel()

        request = Request(list(prompt_ids), params, emit, deadline=time.monotonic() + self.settings.timeout)
        self.engine.submit(request)
        try:
            while True:
                kind, value = await queue.get()
                if kind == FINISH:
                    self.last_finish = value
                    if str(value).startswith("error"):
                        raise ModelError(f"generation failed ({value}); see the log for details")
                    return
                yield value
        finally:
            request.cancel()  # no-op when finished; frees the batch slot when the client left


def load_tokenizer(path: Path) -> ChatTokenizer:
    """The model directory's tokenizer (tokenizers + jinja2; no transformers, no torch)."""
    return ChatTokenizer(path)
