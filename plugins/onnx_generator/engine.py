"""The shared decode loop: concurrent requests join the running batch at the next step.

One thread owns the ONNX session. Each iteration it prefills newly arrived prompts (one at a
time, from an empty cache), merges them into the batch by left-padding the KV cache, then runs
one decode step for every active row. Rows leave when they finish or are cancelled; leading
padding that no row needs any more is dropped so the cache stays as short as the longest row.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .sampling import SamplingParams, TokenSampler
from .session import DecoderSession, as_numpy

log = logging.getLogger("interplay.plugins.onnx")

# What a request's `emit` callback receives: a token id, or a finish reason when done.
TOKEN, FINISH = "token", "finish"


@dataclass(eq=False)
class Request:
    """One generation: a prompt, how to sample, and where the tokens go."""

    prompt_ids: list[int]
    params: SamplingParams
    emit: Callable[[str, Any], None]
    deadline: float | None = None  # time.monotonic() after which the request stops ("timeout")
    generated: list[int] = field(default_factory=list)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Stop at the next step (client gone, reset, stop string seen). Safe from any thread."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class _Batch:
    """The rows decoding together and their shared, left-padded KV cache."""

    def __init__(self) -> None:
        self.rows: list[tuple[Request, TokenSampler]] = []
        self.past: list[np.ndarray] = []
        self.mask = np.zeros((0, 0), dtype=np.int64)  # 1 where a cache slot holds a real token
        self.last = np.zeros((0,), dtype=np.int64)  # the token each row feeds next

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, request: Request, sampler: TokenSampler, past: list[Any], token: int) -> None:
        """Merge one prefilled sequence, padding on the left to a common cache length."""
        new_past = as_numpy(past)
        self.past = as_numpy(self.past)
        length = new_past[0].shape[2]
        width = max(length, self.mask.shape[1])
        if self.rows:
            self.past = [_left_pad(p, width) for p in self.past]
            self.past = [np.concatenate([a, _left_pad(b, width)]) for a, b in zip(self.past, new_past,
                                                                                  strict=True)]
        else:
            self.past = new_past
        mask_row = np.zeros((1, width), dtype=np.int64)
        mask_row[0, width - length:] = 1
        self.mask = np.concatenate([_left_pad_mask(self.mask, width), mask_row])
        self.last = np.append(self.last, token)
        self.rows.append((request, sampler))

    def keep(self, keep: list[int]) -> None:
        """Keep only these row indices, then drop padding columns no remaining row needs."""
        if len(keep) == len(self.rows):
            return
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self.past, self.mask, self.last = [], np.zeros((0, 0), dtype=np.int64), self.last[:0]
            return
        index = np.asarray(keep)
        self.past = [p[index] for p in as_numpy(self.past)]
        self.mask, self.last = self.mask[index], self.last[index]
        unused = int(np.argmax(self.mask.any(axis=0)))  # leading columns that are padding everywhere
        if unused:
            self.past = [np.ascontiguousarray(p[:, :, unused:]) for p in self.past]
            self.mask = self.mask[:, unused:]


def _left_pad(array: np.ndarray, width: int) -> np.ndarray:
    missing = width - array.shape[2]
    if missing == 0:
        return array
    pad = np.zeros((array.shape[0], array.shape[1], missing, array.shape[3]), dtype=array.dtype)
    return np.concatenate([pad, array], axis=2)


def _left_pad_mask(mask: np.ndarray, width: int) -> np.ndarray:
    missing = width - mask.shape[1]
    return np.pad(mask, ((0, 0), (missing, 0))) if missing else mask


class BatchEngine:
    """Owns the decode thread; `submit` is safe to call from any thread."""

    def __init__(self, session: DecoderSession, stop_token_ids: set[int], *, max_batch: int = 16,
                 context_length: int = 2048) -> None:
        self.session = session
        self.stop_token_ids = stop_token_ids
        self.max_batch = max_batch
        self.context_length = context_length
        self._incoming: queue.Queue[Request | None] = queue.Queue()
        self._batch = _Batch()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.steps = 0  # decode steps run; tests and metrics read it
        self.max_rows_seen = 0

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="onnx-decode", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish every open request with 'shutdown' and join the thread."""
        self._stopping = True
        self._incoming.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def submit(self, request: Request) -> None:
        if self._stopping:
            request.emit(FINISH, "shutdown")
            return
        self._incoming.put(request)

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self._admit(block=not self._batch)
                if self._batch:
                    self._decode_step()
            except Exception as exc:  # a failed step must end its requests, not hang them
                log.exception("decode step failed")
                self._fail_all(f"error: {type(exc).__name__}: {exc}")
        self._fail_all("shutdown")

    def _admit(self, *, block: bool) -> None:
        """Prefill waiting requests while there is room in the batch."""
        while len(self._batch) < self.max_batch:
            try:
                request = self._incoming.get(block=block)
            except queue.Empty:
                return
            if request is None:
                return
            block = False
            try:
                self._prefill(request)
            except Exception as exc:  # one bad prompt must not take the running batch down with it
                log.exception("prefill failed")
                request.emit(FINISH, f"error: {type(exc).__name__}: {exc}")

    def _prefill(self, request: Request) -> None:
        if request.cancelled:
            request.emit(FINISH, "cancelled")
            return
        sampler = TokenSampler(request.params, request.prompt_ids)
        out = self.session.prefill(request.prompt_ids)
        token = sampler.choose(out.logits[0])
        if self._deliver(request, token, len(request.prompt_ids) + 1) is None:
            self._batch.add(request, sampler, out.past, token)
            self.max_rows_seen = max(self.max_rows_seen, len(self._batch))

    def _decode_step(self) -> None:
        batch = self._batch
        ones = np.ones((len(batch), 1), dtype=np.int64)
        mask = np.concatenate([batch.mask, ones], axis=1)
        positions = batch.mask.sum(axis=1, keepdims=True)  # real tokens so far = next position
        out = self.session.run(batch.last[:, None], mask, positions, batch.past)
        self.steps += 1
        batch.past, batch.mask = out.past, mask
        keep = []
        for i, (request, sampler) in enumerate(batch.rows):
            token = sampler.choose(out.logits[i])
            if self._deliver(request, token, int(positions[i, 0]) + 2) is None:
                batch.last[i] = token
                keep.append(i)
        batch.keep(keep)

    def _deliver(self, request: Request, token: int, length: int) -> str | None:
        """Emit a token or finish the request; returns the finish reason, None to continue."""
        reason = self._finish_reason(request, token, length)
        if reason not in ("stop_token", "cancelled"):
            request.generated.append(token)
            request.emit(TOKEN, token)
        if reason is not None:
            request.emit(FINISH, reason)
        return reason

    def _finish_reason(self, request: Request, token: int, length: int) -> str | None:
        if request.cancelled:
            return "cancelled"
        if token in self.stop_token_ids:
            return "stop_token"
        if len(request.generated) + 1 >= request.params.max_new_tokens:
            return "length"
        if length >= self.context_length:
            return "context"
        if request.deadline is not None and time.monotonic() >= request.deadline:
            return "timeout"
        return None

    def _fail_all(self, reason: str) -> None:
        for request, _ in self._batch.rows:
            request.emit(FINISH, reason)
        self._batch = _Batch()
        while True:
            try:
                waiting = self._incoming.get_nowait()
            except queue.Empty:
                return
            if waiting is not None:
                waiting.emit(FINISH, reason)
