"""Prometheus metrics for one bot: counters fed by the pipeline, gauges read from its state when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..contracts import Submitted
from ..messages import Message, Reply, ReplySource
from . import PipelineObserver

if TYPE_CHECKING:
    from ..bus import BusBackend
    from ..state import BotState, Stages

# From a fast skill (a millisecond) to a long generated reply (two minutes).
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
STAGES = ("analyze", "skills", "first_token", "generate", "total")


def source_kind(source: str) -> str:
    """`generator:onnx` -> `generator`: keeps label values few whatever the plugin names."""
    return ReplySource.parse(source).kind


class BotMetrics(PipelineObserver):
    """Pipeline observer that counts into its own registry (one per bot, so tests can run many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received_total = Counter(
            "interplay_messages_received",
            "Messages channels submitted, by outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.sent_total = Counter(
            "interplay_messages_sent",
            "Replies sent, by what produced them",
            ["channel", "source"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "interplay_stage_seconds",
            "Seconds per pipeline stage for one message",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.tokens_total = Counter(
            "interplay_generated_tokens",
            "Text deltas streamed by generators (one per token for onnx)",
            ["generator"],
            registry=r,
        )
        self.generation_seconds = Counter(
            "interplay_generation_seconds", "Seconds generators spent streaming", ["generator"], registry=r
        )
        self.tokens_per_second = Gauge(
            "interplay_generation_tokens_per_second",
            "Tokens/s of the last generated reply",
            ["generator"],
            registry=r,
        )
        # labels() validates and locks on every call: the hot path keeps the children it made
        self._stages = {stage: self.stage_seconds.labels(stage) for stage in STAGES}
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def received(self, message: Message, outcome: Submitted) -> None:
        self._child(self.received_total, message.channel, outcome.value).inc()

    def replied(self, message: Message, reply: Reply) -> None:
        self._child(self.sent_total, reply.channel, source_kind(reply.source)).inc()
        stages = self._stages
        for stage, seconds in reply.latency.items():
            child = stages.get(stage)  # a fixed label set, whatever else lands in the dict
            if child is not None:
                child.observe(seconds)

    def generated(self, source: str, deltas: int, seconds: float) -> None:
        parsed = ReplySource.parse(source)
        name = parsed.name
        if parsed.kind != "generator" or not name:
            return
        self._child(self.tokens_total, name).inc(deltas)
        self._child(self.generation_seconds, name).inc(seconds)
        if seconds > 0 and deltas:
            self._child(self.tokens_per_second, name).set(deltas / seconds)


class BotStateCollector(Collector):
    """Reads queue depths, error counts, plugin states and model versions at scrape time."""

    def __init__(self, state: BotState, bus: BusBackend, stages: Stages) -> None:
        self.state = state
        self.bus = bus
        self.stages = stages

    def collect(self) -> Iterator[Any]:
        state, bus = self.state, self.bus
        pending = GaugeMetricFamily("interplay_bus_pending", "Messages accepted but not yet answered")
        conversations = GaugeMetricFamily(
            "interplay_bus_conversations", "Conversations with messages queued or in progress"
        )
        processed = CounterMetricFamily("interplay_messages_processed", "Messages the bus has finished")
        pending.add_metric([], bus.pending)
        conversations.add_metric([], bus.conversations)
        processed.add_metric([], bus.processed)
        yield from (pending, conversations, processed)
        errors = CounterMetricFamily(
            "interplay_plugin_errors", "Plugin failures, by plugin", labels=["plugin"]
        )
        for plugin, count in sorted(state.errors.items()):
            errors.add_metric([plugin], count)
        yield errors
        yield self._plugins()
        yield self._models()

    def _plugins(self) -> GaugeMetricFamily:
        up = GaugeMetricFamily(
            "interplay_plugin_up", "1 when an enabled plugin is running", labels=["plugin"]
        )
        for plugin, state in sorted(self.state.status.items()):
            up.add_metric([plugin], 1.0 if state == "running" else 0.0)
        return up

    def _models(self) -> GaugeMetricFamily:
        info = GaugeMetricFamily(
            "interplay_model_info", "Model versions in use (value 1)", labels=["plugin", "kind", "version"]
        )
        for plugin in self.stages.models():
            version = getattr(plugin, "model_version", None)
            if version:
                info.add_metric([plugin.name, plugin.kind, str(version)], 1.0)
        return info
