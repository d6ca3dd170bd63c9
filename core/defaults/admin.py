"""Admin commands: `/reload` takes up newly promoted models now; `/status`, what an operator checks first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..hookspecs import hookimpl
from ..messages import Message
from ..redaction import redact
from ..state import BotState, Stages

if TYPE_CHECKING:
    from ..bus import BusBackend
    from ..hotswap import ModelSwapper


class AdminCommands:
    def __init__(
        self, state: BotState, bus: BusBackend, stages: Stages, models: ModelSwapper | None
    ) -> None:
        self.state = state
        self.bus = bus
        self.stages = stages
        self.models = models

    async def reload(self, message: Message) -> str:
        if self.models is None:
            return "Hot swap is off ([loop] hot_swap = false)."
        changes = await self.models.check()
        return "\n".join(changes) if changes else "Already serving the newest promoted models."

    async def status(self, message: Message) -> str:
        bus, state = self.bus, self.state
        lines = [
            f"pending {bus.pending}, conversations {bus.conversations}, processed {bus.processed}",
            "plugins: " + ", ".join(f"{name} {s}" for name, s in state.status.items()),
            "errors: " + (", ".join(f"{p}={n}" for p, n in state.errors.most_common()) or "none"),
        ]
        generator = self.stages.generator
        if generator is not None:
            lines.append(f"model: {generator.model_version or '-'}")
        return redact("\n".join(lines))  # plugin states may quote a library's error


@hookimpl(trylast=True)
def register_chat_commands(
    register: Any, state: BotState, bus: BusBackend, stages: Stages, models: ModelSwapper | None
) -> None:
    commands = AdminCommands(state, bus, stages, models)
    register("reload", "take up newly promoted models now", commands.reload, admin_only=True)
    register("status", "queue depth, errors and plugin states", commands.status, admin_only=True)
