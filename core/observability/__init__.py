"""Operations: what the bus and pipeline report, Prometheus metrics, and the health endpoints.

Only `PipelineObserver` lives here, so importing it costs nothing; `metrics` (prometheus-client)
and `server` (aiohttp) are imported when `[observability] enabled = true`.
"""

from __future__ import annotations

from ..contracts import Submitted
from ..messages import Message, Reply


class PipelineObserver:
    """Hook points of the bus and pipeline. This base does nothing, so metrics off costs nothing."""

    def received(self, message: Message, outcome: Submitted) -> None:
        """A channel submitted a message; `outcome` says what became of it."""

    def replied(self, message: Message, reply: Reply) -> None:
        """A reply went out and was stored (`reply.latency` holds the per-stage seconds)."""

    def generated(self, source: str, deltas: int, seconds: float) -> None:
        """A reply stream ended: `deltas` text pieces in `seconds` (source is `generator:<name>`, ...)."""


NULL_OBSERVER = PipelineObserver()

__all__ = ["NULL_OBSERVER", "PipelineObserver"]
