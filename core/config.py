"""config.toml, validated by pydantic models that reject unknown keys."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.functional_validators import AfterValidator

from .errors import ConfigError
from .redaction import remember_secret

CONFIG_ENV = "INTERPLAY_CONFIG"
ENV_PREFIX = "INTERPLAY_"  # INTERPLAY_<TABLE>__<KEY>[__<KEY>...] overrides a key of config.toml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_secret_ref(value: str) -> str:
    if not value or value.startswith(("$env:", "$file:")):
        return value
    raise ValueError(
        'secrets are never written inline: use "$env:NAME" (an environment variable) '
        'or "$file:/path" (a file holding the secret)'
    )


SecretRef = Annotated[str, AfterValidator(_check_secret_ref)]


def resolve_secret(ref: str, what: str) -> str:
    """The secret a `$env:NAME` / `$file:PATH` reference points to; InterplayError if unset."""
    if ref.startswith("$env:"):
        name = ref[5:]
        value = os.environ.get(name, "")
        if not value:
            raise ConfigError(f"{what} is not set: export {name}=...")
        return remember_secret(value)
    if ref.startswith("$file:"):
        path = Path(ref[6:]).expanduser()
        try:
            return remember_secret(path.read_text().strip())
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read {path} ({exc.strerror})") from None
    raise ConfigError(f"{what} is not configured")


class CoreSettings(Strict):
    data_dir: Path | None = None
    models_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    admins: list[str] = Field(default_factory=list)


class BusSettings(Strict):
    backend: Literal["memory", "redis"] = "memory"  # "redis": ingress and worker processes (scale-out)
    max_pending: int = Field(10_000, ge=1)
    conversation_backlog: int = Field(100, ge=1)
    # messages one person (channel, user) may have waiting; past it they get busy_reply, so one
    # sender cannot fill max_pending and hold everyone else up. 0: no cap
    sender_backlog: int = Field(20, ge=0)
    analyzer_timeout: float = Field(2.0, gt=0)
    skill_timeout: float = Field(10.0, gt=0)
    generation_timeout: float = Field(120.0, gt=0)
    shutdown_deadline: float = Field(10.0, ge=0)
    busy_reply: str = "I'm still answering your earlier messages - give me a moment."
    fallback_reply: str = "Sorry, something went wrong on my side. Please try again."


class StoreSettings(Strict):
    backend: Literal["sqlite", "memory", "redis"] = "sqlite"
    path: Path | None = None
    history_turns: int = Field(20, ge=0)


class PipelineSettings(Strict):
    channels: list[str] = Field(default_factory=lambda: ["console"])
    analyzers: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    generator: str = "echo"
    # whose label picks the skills (Skill.intents) and marks rephrases; "": the one providing "intent"
    routing_analyzer: str = ""


class ObservabilitySettings(Strict):
    enabled: bool = False  # off unless asked: several processes may share a host
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class LimitsSettings(Strict):
    # per person (channel, user): a token bucket of `burst` refilled at this rate; 0 = no rate limit
    messages_per_minute: float = Field(20.0, ge=0)
    burst: int = Field(10, ge=1)
    # channels whose people are trusted and never rate-limited: the console is the local user's stdin
    unlimited_channels: list[str] = Field(default_factory=lambda: ["console"])
    max_message_chars: int = Field(16_000, ge=1)
    max_request_bytes: int = Field(1_048_576, ge=1024)  # HTTP bodies the core's servers accept
    rate_limited_reply: str = "You're sending messages faster than I can keep up - please slow down."
    too_long_reply: str = "That message is too long for me - please send something shorter."


class RedisSettings(Strict):
    url: SecretRef = ""  # empty: redis://127.0.0.1:6379/0; a URL may hold a password: "$env:NAME"
    prefix: str = Field("interplay", min_length=1)
    partitions: int = Field(16, ge=1, le=4096)  # a conversation's partition never changes: fix it up front
    lease_ttl: float = Field(10.0, gt=0)  # seconds before a silent worker's partitions move elsewhere
    worker_concurrency: int = Field(64, ge=1)  # messages one worker process handles at once
    outbound_maxlen: int = Field(10_000, ge=100)  # reply events kept per ingress stream (approximate)
    dedupe_ttl: int = Field(30 * 86400, ge=60)  # seconds a channel's message id is remembered
    timeout: float = Field(5.0, gt=0)  # seconds for any one Redis command


class FeedbackSettings(Strict):
    """Implicit feedback: weak labels computed from the user's next message (core/signals.py)."""

    implicit: bool = True
    # the analyzer whose label on the next turn is a signal; "": the analyzer that provides "sentiment"
    sentiment_analyzer: str = ""
    positive_labels: list[str] = Field(default_factory=lambda: ["positive"])
    negative_labels: list[str] = Field(default_factory=lambda: ["negative"])
    sentiment_min_confidence: float = Field(0.7, ge=0.0, le=1.0)
    sentiment_weight: float = Field(0.3, ge=0.0)  # an explicit /good or /bad weighs 1.0
    rephrase_weight: float = Field(0.5, ge=0.0)
    rephrase_similarity: float = Field(0.7, gt=0.0, le=1.0)  # word-and-character overlap, 0..1
    rephrase_window: float = Field(300.0, gt=0.0)  # seconds: later messages are not a rephrase


class LoopSettings(Strict):
    """The learning loop: hot swap in the bot, and what `interplay loop` does (docs/learning-loop.md)."""

    hot_swap: bool = True  # watch the model registry and take up promoted models
    watch_interval: float = Field(5.0, gt=0.0)  # seconds between looks at registry.json
    reload_on_sighup: bool = True
    min_new_feedback: int = Field(500, ge=1)  # `interplay loop` starts an iteration past this many
    poll_interval: float = Field(60.0, gt=0.0)  # seconds between `interplay loop` checks
    method: Literal["lora", "full"] = "lora"
    epochs: int = Field(1, ge=1)
    min_steps: int = Field(0, ge=0)  # more whole epochs (at most 4) until this many steps; 0 = off
    max_steps: int | None = Field(None, ge=1)
    learning_rate: float = Field(4e-4, gt=0.0)  # with kl_weight 0.3: the rounds in docs/learning-loop.md
    warmup: float = Field(0.1, ge=0.0, lt=1.0)  # share of steps warming up; cosine decay after
    batch_size: int = Field(8, ge=1)
    kto_weight: float = Field(1.0, ge=0.0)  # 0 = supervised on good replies only
    kto_beta: float = Field(0.1, gt=0.0)
    kl_weight: float = Field(0.3, ge=0.0)  # token KL to the starting model on reply positions; 0 = off
    lora_rank: int = Field(16, ge=1)
    lora_layers: float = Field(0.5, gt=0.0, le=1.0)  # share of decoder layers, from the top, with adapters
    min_weight: float = Field(0.25, ge=0.0)  # feedback lighter than this is left out of training
    from_served: bool = True  # start from the served version's weights, train on its own replies
    train_precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 where native (GPU, AVX512-BF16)
    # exported variants; empty = only the one the bot serves (int8 on a CPU)
    variants: list[Literal["fp32", "int8", "fp16"]] = Field(default_factory=list)  # type: ignore[arg-type]
    golden_fraction: float = Field(0.1, gt=0.0, lt=1.0)  # conversations held out for the gate
    max_perplexity_increase: float = Field(0.02, ge=0.0)  # relative, on held-out good replies
    max_score_drop: float = Field(0.0, ge=0.0)  # feedback-signal score, log-prob units per token
    # the candidate must move towards held-out liked replies beyond chance (permutation test); 0 = off
    min_preference_confidence: float = Field(0.95, ge=0.0, lt=1.0)
    # degeneration checks on held-out prompts (trainer/loop/degeneration.py; 0 prompts = off)
    gate_prompts: int = Field(32, ge=0)
    gate_max_new_tokens: int = Field(64, ge=8)
    keep_versions: int = Field(5, ge=1)  # promoted versions kept on disk for rollback
    threads: int = Field(0, ge=0)  # torch CPU threads for training; 0 = torch's default (all cores)


class InterplayConfig(Strict):
    interplay: CoreSettings = Field(default_factory=CoreSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    loop: LoopSettings = Field(default_factory=LoopSettings)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: str = Field("defaults", exclude=True)
    # dotted key -> the environment variable that set it, so errors name the variable, not the file
    env_sources: dict[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def data_dir(self) -> Path:
        """Where the store and prepared models live (platform convention unless configured)."""
        configured = self.interplay.data_dir
        return configured.expanduser() if configured else Path(platformdirs.user_data_dir("interplay"))

    @property
    def models_dir(self) -> Path:
        """Where prepared and trained model directories live (the platform's cache dir by default)."""
        configured = self.interplay.models_dir
        if configured:
            return configured.expanduser()
        return Path(platformdirs.user_cache_dir("interplay")) / "models"

    @property
    def store_path(self) -> Path:
        return self.store.path.expanduser() if self.store.path else self.data_dir / "interplay.sqlite3"

    def plugin_table(self, name: str) -> dict[str, Any]:
        return self.plugins.get(name, {})

    @model_validator(mode="after")
    def _admins_name_their_channel(self) -> InterplayConfig:
        problem = admins_problem(self.interplay.admins, self.pipeline.channels)
        if problem:
            raise ValueError(problem)
        return self

    def admin_people(self) -> frozenset[str]:
        """`[interplay] admins` as "channel:user" names (a bare id: of the one configured channel)."""
        return admin_people(self.interplay.admins, self.pipeline.channels)


def bare_admins(admins: list[str], channels: list[str]) -> list[str]:
    """The entries of `[interplay] admins` that do not start with a configured channel's name and ":"."""
    return [a for a in admins if a.split(":", 1)[0] not in channels or ":" not in a]


def admins_problem(admins: list[str], channels: list[str]) -> str:
    """Why `admins` cannot be read with these channels ("" if it can).

    A bare user id would make whoever has that id on *any* channel an admin (ids are per channel:
    a Telegram number can be someone else's Slack or console name), so it is accepted only when one
    channel is configured, where it can mean nothing else.
    """
    bare = bare_admins(admins, channels)
    if not bare or len(channels) == 1:
        return ""
    channel = next((c for c in channels if c != "console"), channels[0] if channels else "telegram")
    example = f"{channel}:{bare[0]}"
    return (
        f"[interplay] admins: {', '.join(repr(b) for b in bare)} names no configured channel "
        f"({', '.join(channels) or 'none'}): write each admin as \"channel:user\", "
        f"for example {example!r}; a bare id would make that id an admin on every channel"
    )


def admin_people(admins: list[str], channels: list[str]) -> frozenset[str]:
    """Admins as "channel:user"; a bare id belongs to the only configured channel (see admins_problem)."""
    problem = admins_problem(admins, channels)
    if problem:
        raise ConfigError(problem)
    bare = set(bare_admins(admins, channels))
    return frozenset(f"{channels[0]}:{a}" if a in bare else a for a in admins)


def describe_validation_error(
    exc: ValidationError, source: str, prefix: str = "", env_sources: dict[str, str] | None = None
) -> str:
    """One line per problem, naming the key and the file (or the environment variable that set it)."""
    lines = []
    for err in exc.errors():
        key = prefix + ".".join(str(p) for p in err["loc"])
        where = _origin(key, env_sources or {}) or source
        if not err["loc"]:  # a check across tables (model_validator): its message names the keys
            error = (err.get("ctx") or {}).get("error")
            lines.append(f"{where}: {error if error is not None else err['msg']}")
        elif err["type"] == "extra_forbidden":
            hint = _suggest(err["loc"], exc)
            lines.append(f"{where}: unknown key '{key}'{hint}")
        else:
            lines.append(f"{where}: '{key}': {err['msg']}")
    return "\n".join(lines)


def _origin(key: str, env_sources: dict[str, str]) -> str:
    for dotted, variable in env_sources.items():
        if key == dotted or key.startswith(dotted + ".") or dotted.startswith(key + "."):
            return f"environment variable {variable}"
    return ""


def _suggest(loc: tuple[Any, ...], exc: ValidationError) -> str:
    model = _model_at(exc.title, loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(title: str, path: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = _MODELS_BY_TITLE.get(title)
    for part in path:
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[str(part)].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


_MODELS_BY_TITLE: dict[str, type[BaseModel]] = {"InterplayConfig": InterplayConfig}


def register_settings_model(model: type[BaseModel]) -> None:
    """Let error messages suggest close key names for a plugin's Settings model."""
    _MODELS_BY_TITLE[model.__name__] = model


def find_config(path: str | Path | None = None) -> Path | None:
    """--config, then $INTERPLAY_CONFIG, then ./config.toml; None means built-in defaults."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path("config.toml")
    return local if local.is_file() else None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> InterplayConfig:
    """Read and validate config; ConfigError names the file and the bad key."""
    found = find_config(path)
    data: dict[str, Any] = {}
    source = "defaults"
    if found is not None:
        source = str(found)
        try:
            data = tomllib.loads(found.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {found} not found: create it or pass --config") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{found}: not valid TOML: {exc}") from None
    env_sources = apply_environment(data, os.environ)
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        data.setdefault(section, {})[key] = value
    try:
        return InterplayConfig.model_validate({**data, "source": source, "env_sources": env_sources})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source, env_sources=env_sources)) from None


def apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Put `INTERPLAY_BUS__MAX_PENDING=500`-style variables into `data`; returns dotted key -> variable.

    Names are case-insensitive; `__` separates the levels (`INTERPLAY_PLUGINS__ONNX__MAX_NEW_TOKENS`).
    A value is read as TOML when it parses (`500`, `true`, `["intent"]`), else as a plain string,
    and is then validated with the file, so an error names the variable.
    """
    applied: dict[str, str] = {}
    for variable in sorted(environ):
        if not variable.upper().startswith(ENV_PREFIX) or "__" not in variable:
            continue
        path = [part.lower() for part in variable[len(ENV_PREFIX) :].split("__")]
        if not all(path) or len(path) < 2:
            raise ConfigError(f"environment variable {variable}: expected INTERPLAY_<TABLE>__<KEY>")
        target = data
        for part in path[:-1]:
            table = target.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"environment variable {variable}: '{part}' is not a table")
            target = table
        target[path[-1]] = _env_value(environ[variable])
        applied[".".join(path)] = variable
    return applied


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
