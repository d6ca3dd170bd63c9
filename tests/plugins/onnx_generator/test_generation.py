"""Streaming, greedy parity with PyTorch, stop strings, seeds, cancellation and timeouts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from interplay.core import Conversation, Message
from interplay.trainer.lm.parity import torch_greedy

GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0}


def conversation(text: str, cid: str = "c1") -> Conversation:
    return Conversation(cid, Message("test", cid, "u1", text))


def reference_tokens(model: Any, ids: list[int], n: int, stop: set[int]) -> list[int]:
    """PyTorch greedy continuation, cut at the first stop token as the engine does."""
    _, tokens = torch_greedy(model, ids, n)
    for i, token in enumerate(tokens):
        if token in stop:
            return tokens[:i]
    return tokens


async def test_streams_deltas_that_add_up_to_the_decoded_reply(start_generator: Any) -> None:
    async with start_generator(**GREEDY) as gen:
        deltas = [d async for d in gen.stream(conversation("Hello there, how are you?"))]
        prompt = gen.prompts.build(conversation("Hello there, how are you?"))
        ids = [t async for t in gen.tokens(prompt, gen.sampling(**GREEDY))]
    assert len(deltas) > 1, "a reply must arrive in pieces, not all at once"
    # a reply cut by max_new_tokens inside a UTF-8 character ends without the broken piece, by design
    assert "".join(deltas) == gen.tokenizer.decode(ids, skip_special_tokens=True).rstrip("\ufffd")


@pytest.mark.parametrize("text", ["Hello there", "My order arrived broken and nobody answers my emails."])
async def test_greedy_reply_equals_pytorch(start_generator: Any, tiny_lm: Any, text: str) -> None:
    model, _ = tiny_lm
    async with start_generator(max_new_tokens=32, **GREEDY) as gen:
        prompt = gen.prompts.build(conversation(text))
        got = [t async for t in gen.tokens(prompt, gen.sampling(max_new_tokens=32, **GREEDY))]
        stop = gen.model.stop_token_ids
    assert got == reference_tokens(model, prompt, 32, stop)[: len(got)]
    assert len(got) == 32 or gen.last_finish == "stop_token"


async def test_int8_variant_loads_and_generates(start_generator: Any) -> None:
    async with start_generator(precision="int8") as gen:
        text = "".join([d async for d in gen.stream(conversation("Hi!"))])
    assert gen.model.precision == "int8" and "int8" in gen.model_version
    assert text


async def test_seed_makes_sampling_reproducible(start_generator: Any) -> None:
    sample = {"temperature": 1.0, "top_p": 0.95, "top_k": 0, "max_new_tokens": 16}
    async with start_generator(seed=7, **sample) as gen:
        first = [d async for d in gen.stream(conversation("Tell me about the weather"))]
        again = [d async for d in gen.stream(conversation("Tell me about the weather"))]
    async with start_generator(seed=8, **sample) as gen:
        other = [d async for d in gen.stream(conversation("Tell me about the weather"))]
    assert first == again
    assert first != other


async def test_stop_string_ends_the_reply_before_it(start_generator: Any) -> None:
    async with start_generator(**GREEDY) as gen:
        full = "".join([d async for d in gen.stream(conversation("Hello there"))])
        assert len(full) > 6
        stop = full[3:6]
    async with start_generator(stop=[stop], **GREEDY) as gen:
        cut = "".join([d async for d in gen.stream(conversation("Hello there"))])
        assert gen.last_finish == "stop_string"
    assert cut == full[: full.index(stop)]


async def test_closing_the_stream_cancels_the_request(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=400, **GREEDY) as gen:
        prompt = gen.prompts.build(conversation("Hello"))
        stream = gen.tokens(prompt, gen.sampling(max_new_tokens=400, **GREEDY))
        got = [await anext(stream), await anext(stream)]
        await stream.aclose()  # the client went away
        for _ in range(100):
            if not gen.engine._batch.rows:
                break
            await asyncio.sleep(0.01)
        assert not gen.engine._batch.rows, "the cancelled request still holds a batch slot"
        assert gen.engine.steps < 100, "the engine kept decoding after cancellation"
        # the engine is still healthy for the next reply
        assert [d async for d in gen.stream(conversation("Hello again"))]
    assert len(got) == 2


async def test_task_cancellation_frees_the_slot(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=400, **GREEDY) as gen:
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in gen.stream(conversation("Hello")):
                started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)
        assert not gen.engine._batch.rows


async def test_timeout_cuts_a_reply_short(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=1000, timeout=0.3, **GREEDY) as gen:
        run = gen.engine.session.run

        def slow_run(*args: Any) -> Any:
            time.sleep(0.02)  # 1000 steps would take 20 s
            return run(*args)

        gen.engine.session.run = slow_run
        began = time.monotonic()
        text = "".join([d async for d in gen.stream(conversation("Hello"))])
        took = time.monotonic() - began
    assert gen.last_finish == "timeout"
    assert 0.3 <= took < 1.5
    assert text, "what was generated before the timeout is still delivered"


async def test_stopped_engine_finishes_new_requests(start_generator: Any) -> None:
    async with start_generator(**GREEDY) as gen:
        engine = gen.engine
    gen.engine = engine
    assert [t async for t in gen.tokens([1, 2, 3], gen.sampling())] == []
    assert gen.last_finish == "shutdown"


async def test_a_failing_prompt_fails_alone(start_generator: Any) -> None:
    from interplay.core import ModelError

    async with start_generator(max_new_tokens=30, **GREEDY) as gen:
        good = gen.prompts.build(conversation("Hello"))
        expected = [t async for t in gen.tokens(good, gen.sampling(max_new_tokens=30, **GREEDY))]
        running = asyncio.create_task(_collect(gen.tokens(good, gen.sampling(max_new_tokens=30, **GREEDY))))
        await asyncio.sleep(0.05)
        with pytest.raises(ModelError, match="generation failed"):
            await _collect(gen.tokens([10**9], gen.sampling()))  # an id far outside the vocabulary
        assert await running == expected


async def _collect(iterator: Any) -> list[int]:
    return [t async for t in iterator]
