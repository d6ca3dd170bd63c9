"""What one bot process is running right now: plugin states, error counts, open channels.

The bot updates it as plugins start, fail and are swapped; `/status`, `/readyz` and the metrics
collector read it. It holds no behaviour, so every part can be handed it without a cycle.
"""

from __future__ import annotations

from collections import Counter

from .contracts import Analyzer, Channel, Generator, Plugin, Skill


class Stages:
    """The analyzers, skills and generator a pipeline runs; hot swap replaces one model here."""

    def __init__(
        self, analyzers: list[Analyzer], skills: list[Skill], generator: Generator | None
    ) -> None:
        self.analyzers = analyzers
        self.skills = skills
        self.generator = generator

    def replace_analyzer(self, old: Analyzer, new: Analyzer) -> None:
        """One reference changes on the event loop: the next message is analyzed by `new`."""
        self.analyzers = [new if a is old else a for a in self.analyzers]

    def models(self) -> list[Plugin]:
        """Everything that may report a `model_version`."""
        return [*self.analyzers, *self.skills, *([self.generator] if self.generator else [])]


class BotState:
    """Plugin states by name ("running" or "failed: why"), error counts, open channels, running plugins."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.errors: Counter[str] = Counter()
        self.channels: dict[str, Channel] = {}  # open and taking traffic; the pipeline sends through them
        self.running: list[Plugin] = []  # started, in start-up order (stopped in reverse)
        self.serving = False  # the bus hands messages to the pipeline

    def serve(self) -> None:
        self.serving = True

    def started(self, plugin: Plugin) -> None:
        self.status[plugin.name] = "running"
        self.running.append(plugin)

    def failed(self, name: str, why: str) -> None:
        self.status[name] = f"failed: {why}"

    def opened(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    def closed(self, channel: Channel) -> None:
        self.channels.pop(channel.name, None)
        if channel in self.running:
            self.running.remove(channel)

    def replaced(self, old: Plugin, new: Plugin) -> None:
        """A hot swap: `new` runs (and is stopped at shutdown) in place of `old`."""
        self.running = [new if p is old else p for p in self.running]

    def count_error(self, plugin: str, exc: BaseException) -> None:
        self.errors[plugin] += 1
