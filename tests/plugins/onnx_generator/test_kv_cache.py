"""The KV cache is really used: decode steps feed one token, and their cost barely grows with the prompt."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from interplay.core import Conversation, Message
from interplay.plugins.onnx_generator.session import DecoderSession


def cached_step_time(session: DecoderSession, length: int, steps: int = 15) -> float:
    """Median seconds per decode step after a prompt of `length` tokens, reusing the cache."""
    out = session.prefill(list(np.arange(length) % 300 + 3))
    times = []
    for i in range(steps):
        mask = np.ones((1, length + i + 1), dtype=np.int64)
        began = time.perf_counter()
        out = session.run(np.asarray([[5]]), mask, np.asarray([[length + i]]), out.past)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def uncached_step_time(session: DecoderSession, length: int, steps: int = 15) -> float:
    """The same, but re-running the whole sequence each step, as a cache-less loop would."""
    times = []
    for i in range(steps):
        began = time.perf_counter()
        session.prefill(list(np.arange(length + i) % 300 + 3))
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def test_per_token_cost_does_not_grow_like_a_cacheless_loop(tiny_root: Path) -> None:
    session = DecoderSession(tiny_root / "fp32" / "model.onnx", threads=1)
    short, long = 16, 900
    cached = cached_step_time(session, long) / cached_step_time(session, short)
    uncached = uncached_step_time(session, long) / uncached_step_time(session, short)
    assert uncached > 4 * cached, f"cached growth {cached:.2f}x vs cache-less {uncached:.2f}x"
    assert cached < 3, f"a decode step after {long} tokens costs {cached:.2f}x one after {short}"


async def test_decode_steps_feed_one_token_and_a_growing_cache(start_generator: Any) -> None:
    async with start_generator(max_new_tokens=10, temperature=0.0) as gen:
        calls: list[tuple[int, int]] = []
        run = gen.engine.session.run

        def spy(input_ids: np.ndarray, mask: np.ndarray, positions: np.ndarray, past: list[Any]) -> Any:
            calls.append((input_ids.shape[1], past[0].shape[2]))
            return run(input_ids, mask, positions, past)

        gen.engine.session.run = spy  # type: ignore[method-assign]
        prompt = gen.prompts.build(Conversation("c", Message("t", "c", "u", "Hello there")))
        tokens = [t async for t in gen.tokens(prompt, gen.sampling(max_new_tokens=10, temperature=0.0,
                                                                   repetition_penalty=1.0))]
    assert calls[0] == (len(prompt), 0), "the prompt is prefilled once from an empty cache"
    decode = calls[1:]
    assert decode and all(fed == 1 for fed, _ in decode), "decode steps must feed only the new token"
    assert [cached for _, cached in decode] == list(range(len(prompt), len(prompt) + len(decode)))
    assert len(decode) == len(tokens) - 1 or len(decode) == len(tokens)
