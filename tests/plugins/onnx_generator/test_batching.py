"""The shared decode loop: concurrent conversations decode together and get the same greedy replies."""

from __future__ import annotations

import asyncio
from typing import Any

from interplay.core import Conversation, Message

GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0}
TEXTS = [
    "Hi",
    "Hello there, how are you doing today?",
    "The weather is lovely and the sun is shining over the quiet harbour. What should I do?",
    "My order arrived broken",
    "Could you explain what a rainbow is?",
    "Café? 🙂",
]


def conversation(i: int) -> Conversation:
    return Conversation(f"c{i}", Message("test", f"c{i}", "u", TEXTS[i % len(TEXTS)]))


async def reply_ids(gen: Any, i: int) -> list[int]:
    prompt = gen.prompts.build(conversation(i))
    return [t async for t in gen.tokens(prompt, gen.sampling(**GREEDY))]


async def test_batched_greedy_equals_unbatched(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=20, max_batch=8, **GREEDY) as gen:
        alone = [await reply_ids(gen, i) for i in range(len(TEXTS))]
        assert gen.engine.max_rows_seen == 1
        together = await asyncio.gather(*(reply_ids(gen, i) for i in range(len(TEXTS))))
        assert gen.engine.max_rows_seen > 1, "concurrent requests never shared a decode step"
    assert together == alone


async def test_late_request_joins_running_batch(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=60, **GREEDY) as gen:
        expected_first = await reply_ids(gen, 2)
        expected_late = await reply_ids(gen, 0)
        steps_alone = gen.engine.steps
        first = asyncio.create_task(reply_ids(gen, 2))
        for _ in range(10_000):  # wait until the first one is decoding
            if gen.engine.steps >= steps_alone + 5:
                break
            await asyncio.sleep(0.001)
        late = await reply_ids(gen, 0)
        assert gen.engine.max_rows_seen == 2, "the late request did not join the running batch"
        assert await first == expected_first
    assert late == expected_late


async def test_max_batch_limits_rows(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=8, max_batch=2, **GREEDY) as gen:
        results = await asyncio.gather(*(reply_ids(gen, i) for i in range(5)))
        assert gen.engine.max_rows_seen == 2
    assert all(results)


async def test_streams_stay_per_conversation(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=16, **GREEDY) as gen:
        alone = ["".join([d async for d in gen.stream(conversation(i))]) for i in range(4)]

        async def text(i: int) -> str:
            return "".join([d async for d in gen.stream(conversation(i))])

        together = await asyncio.gather(*(text(i) for i in range(4)))
    assert together == alone
