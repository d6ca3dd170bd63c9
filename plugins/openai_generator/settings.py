"""The `[plugins.openai]` table."""

from __future__ import annotations

from interplay.core import PluginSettings, SecretRef
from pydantic import Field

from ..onnx_generator.settings import DEFAULT_INSTRUCTIONS, DEFAULT_SYSTEM_PROMPT


class OpenAIGeneratorSettings(PluginSettings):
    """Where the server is, which model, and the same prompt policy as the `onnx` generator."""

    base_url: str = Field("http://127.0.0.1:8000/v1", min_length=1)  # up to and including /v1
    model: str = Field(..., min_length=1)  # also the model_version stored with every reply
    api_key: SecretRef = ""  # "$env:OPENAI_API_KEY"; empty for servers that need none
    timeout: float = Field(30.0, gt=0)  # seconds to connect, and between two chunks of a stream
    retries: int = Field(2, ge=0, le=10)  # on 429, 5xx and lost connections, only before any text arrived
    retry_delay: float = Field(1.0, ge=0)  # first wait, doubled each time; a Retry-After header wins
    max_retry_delay: float = Field(20.0, ge=0)  # a longer Retry-After is an error, not a wait
    check_at_start: bool = True  # GET {base_url}/models at start: a wrong URL or key stops the bot

    # what the prompt says (as in [plugins.onnx])
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    instructions: dict[str, dict[str, str]] = Field(default_factory=lambda: dict(DEFAULT_INSTRUCTIONS))
    intent_system_prompts: dict[str, str] = Field(default_factory=dict)
    annotation_min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    context_chars: int = Field(8000, ge=100)  # prompt budget in characters; oldest turns are dropped first

    # sampling, sent as is
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
