"""The ONNX generator served by `OpenAIServer` and read back by the `openai` generator: the same reply."""

from __future__ import annotations

from typing import Any

from interplay.core import Conversation, Message, PluginContext, Turn
from interplay.core.store import MemoryStore
from interplay.plugins.openai_generator.generator import OpenAIGenerator
from interplay.plugins.openai_generator.server import OpenAIServer

from tests.plugins.openai_generator.conftest import serving


async def test_the_local_model_over_the_openai_protocol_gives_the_same_reply(start_generator: Any):
    conversation = Conversation(
        "c", Message("t", "c", "u", "what now?"), (Turn("user", "hello", "1"), Turn("assistant", "hi!", "2"))
    )
    async with start_generator(max_new_tokens=12) as onnx:
        direct = [d async for d in onnx.stream(conversation)]
        server = OpenAIServer(onnx)
        async with serving(server.app) as url:
            settings = OpenAIGenerator.Settings(base_url=url, model=onnx.model_version, retry_delay=0)
            remote = OpenAIGenerator(settings, PluginContext(MemoryStore(), None, None))  # type: ignore[arg-type]
            await remote.start()
            try:
                served = [d async for d in remote.stream(conversation)]
            finally:
                await remote.stop()
    assert "".join(direct) and "".join(served) == "".join(direct)  # greedy: the same text
    assert len(served) > 1  # and streamed, not in one piece
    assert remote.model_version == onnx.model_version
