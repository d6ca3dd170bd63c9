"""`build_bot()`: the one place that builds a bot from config and the plugin manager.

It constructs every part in dependency order and hands each exactly what it uses; nothing is
wired afterwards by setting attributes. `Bot` (core/app.py) then only runs what was built:

    state, context          what is running; what every plugin gets
    plugins                 the enabled channels, analyzers, skills and generator (not started yet)
    stages                  analyzers, skills and the generator (in a hot-swap slot) the pipeline runs
    bus                     a BusBackend: Bus in one process, RedisIngress / Worker when scaled out
    swapper, watcher        hot swap of promoted models ([loop] hot_swap)
    commands                built-in chat commands + the register_chat_commands hook (defaults last)
    pipeline                store, channels, stages, commands, observer (metrics), signals
    server                  /metrics, /healthz, /readyz ([observability] enabled)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal, cast

from .app import Bot, Planned, open_store
from .bus import Bus, BusBackend
from .chat_commands import ChatCommands
from .config import InterplayConfig
from .contracts import Analyzer, Generator, Plugin, PluginContext, Skill
from .hotswap import GeneratorSlot, ModelSwapper, WatchedModel
from .limits import AdmissionGate
from .model_dir import registry as model_registry
from .model_watch import ModelWatcher
from .observability import NULL_OBSERVER, PipelineObserver
from .pipeline import Pipeline
from .plugins import PluginRegistry, load_registry
from .redaction import remember_references
from .signals import ImplicitSignals
from .state import BotState, Stages
from .store import ConversationStore

if TYPE_CHECKING:
    from .observability.metrics import BotMetrics
    from .observability.server import OperationsServer
    from .scale.worker import Worker

Role = Literal["all", "ingress", "worker"]


def build_bot(
    config: InterplayConfig,
    registry: PluginRegistry | None = None,
    *,
    store: ConversationStore | None = None,
    role: Role = "all",
    name: str | None = None,
) -> Bot:
    """Build one bot process: everything in it (`role` "all"), or a scale-out ingress or worker.

    Plugins are constructed here but started by `Bot.start()`; a plugin that cannot even be
    built (bad settings) is reported there with the ones that fail to start.
    """
    configured = config = role_config(config, role)
    registry = registry or load_registry(config)
    watched = [WatchedModel(*found) for found in registry.model_plugins(config)]
    if config.loop.hot_swap:  # serve promoted model versions from the start
        config = model_registry.promoted_config(config, {w.name: w.home for w in watched})
    store = store or open_store(config, role)
    remember_references(config.plugins)  # secrets a plugin reads itself are still masked in logs
    stopped = asyncio.Event()
    state = BotState()
    context = PluginContext(store, config.data_dir, config, request_stop=stopped.set)
    plan = _build_plugins(config, registry, context)
    for planned in plan:
        if planned.plugin is not None:  # defaults such as "$env:SLACK_BOT_TOKEN" are not in config.toml
            remember_references(planned.plugin.settings.model_dump())
    stages = _stages(plan)
    routing = analyzer_providing("intent", config.pipeline.routing_analyzer, stages.analyzers)
    mood = analyzer_providing("sentiment", config.feedback.sentiment_analyzer, stages.analyzers)
    metrics = _metrics(config)
    observer = metrics or NULL_OBSERVER
    bus = _bus(config, store, role, name, observer)
    swapper = _swapper(configured, stages, state, registry, context, watched)
    commands = ChatCommands(
        store,
        frozenset(config.interplay.admins),
        registry.chat_commands(
            config=config, store=store, state=state, bus=bus, stages=stages, models=swapper
        ),
    )
    pipeline = Pipeline(
        store,
        cast("Worker", bus).channels if role == "worker" else state.channels,
        config.bus,
        stages,
        commands,
        history_turns=config.store.history_turns,
        routing_analyzer=routing,
        on_error=state.count_error,
        observer=observer,
        signals=ImplicitSignals(store, config.feedback, routing, mood),
    )
    server = _server(config, metrics, store, state, bus, stages)
    watcher = ModelWatcher(swapper, config.loop) if swapper is not None else None
    return Bot(config, store, state, plan, pipeline, bus, server=server, watcher=watcher, stopped=stopped)


def role_config(config: InterplayConfig, role: Role) -> InterplayConfig:
    """What a process of this role runs: an ingress only channels, a worker everything else."""
    if role == "all":
        return config
    from .scale.roles import require_redis

    if role == "ingress":
        require_redis(config, "interplay run --role ingress")
        update = {"analyzers": [], "skills": [], "generator": ""}  # those run in the workers
    else:
        require_redis(config, "interplay worker")
        update = {"channels": []}
    return config.model_copy(update={"pipeline": config.pipeline.model_copy(update=update)})


def analyzer_providing(provides: str, configured: str, analyzers: list[Analyzer]) -> str:
    """`configured` if set, else the first enabled analyzer (config order) whose class provides `provides`."""
    if configured:
        return configured
    return next((a.name for a in analyzers if a.provides == provides), "")


def _build_plugins(
    config: InterplayConfig, registry: PluginRegistry, context: PluginContext
) -> list[Planned]:
    """Construct the enabled plugins in start-up order; keep each failure to report at start."""
    pipe = config.pipeline
    wanted = [
        *(("analyzer", n) for n in pipe.analyzers),
        *(("skill", n) for n in pipe.skills),
        *([("generator", pipe.generator)] if pipe.generator else []),
        *(("channel", n) for n in pipe.channels),
    ]
    plan = []
    for kind, plugin_name in wanted:
        try:
            plugin = registry.build(kind, plugin_name, config, context)
        except Exception as exc:
            plan.append(Planned(kind, plugin_name, None, exc))
            continue
        if isinstance(plugin, Generator) and config.loop.hot_swap:
            plugin = GeneratorSlot(plugin)  # hot swap changes the model inside, never the pipeline's
        plan.append(Planned(kind, plugin_name, plugin))
    return plan


def _stages(plan: list[Planned]) -> Stages:
    built = [p.plugin for p in plan if p.plugin is not None]
    generator = next((cast(Generator, p) for p in built if p.kind == "generator"), None)
    analyzers = [cast(Analyzer, p) for p in built if p.kind == "analyzer"]
    skills = [cast(Skill, p) for p in built if p.kind == "skill"]
    return Stages(analyzers, skills, generator)


def _metrics(config: InterplayConfig) -> BotMetrics | None:
    """The metrics observer when [observability] is on (imports prometheus only then)."""
    if not config.observability.enabled:
        return None
    from .observability.metrics import BotMetrics

    return BotMetrics()


def _bus(
    config: InterplayConfig,
    store: ConversationStore,
    role: Role,
    name: str | None,
    observer: PipelineObserver,
) -> BusBackend:
    gate = AdmissionGate(config.limits)
    if role == "ingress":
        from .scale.ingress import RedisIngress, ingress_name
        from .scale.store import RedisStore

        return RedisIngress(config, cast(RedisStore, store), name or ingress_name(config), gate=gate)
    if role == "worker":
        from .scale.store import WorkerStore
        from .scale.worker import Worker, process_name

        return Worker(config, cast(WorkerStore, store), name or process_name())
    return Bus(store, config.bus, gate=gate, observer=observer)


def _swapper(
    config: InterplayConfig,
    stages: Stages,
    state: BotState,
    registry: PluginRegistry,
    context: PluginContext,
    watched: list[WatchedModel],
) -> ModelSwapper | None:
    if not config.loop.hot_swap:
        return None

    def build(kind: str, plugin_name: str, swapped: InterplayConfig) -> Plugin:
        return registry.build(kind, plugin_name, swapped, context)

    # as configured, not promoted: "no promotion" (after a rollback) means the configured model
    return ModelSwapper(config, stages, state, build, watched)


def _server(
    config: InterplayConfig,
    metrics: BotMetrics | None,
    store: ConversationStore,
    state: BotState,
    bus: BusBackend,
    stages: Stages,
) -> OperationsServer | None:
    """The /metrics, /healthz and /readyz server when [observability] is on (imports aiohttp only then)."""
    if metrics is None:
        return None
    from .observability.metrics import BotStateCollector
    from .observability.server import OperationsServer, Readiness

    registry = metrics.registry
    registry.register(BotStateCollector(state, bus, stages))
    settings = config.observability
    return OperationsServer(
        registry,
        Readiness(store, config.pipeline, state, bus),
        settings.host,
        settings.port,
        config.limits.max_request_bytes,
    )
