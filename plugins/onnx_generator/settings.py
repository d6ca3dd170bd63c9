"""The `[plugins.onnx]` table."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from interplay.core import PluginSettings
from pydantic import Field

# Plain on purpose: close to the prompt the default model was tuned with, and naming no place,
# team or product. "A friendly assistant in a chat" once made SmolLM2 introduce itself as part
# of "our online gaming community"; a small model fills any hinted setting with an invented one.
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful AI assistant. Reply to the user's last message directly, in a few short sentences."
)
DEFAULT_INSTRUCTIONS = {
    "sentiment": {
        "negative": "The user sounds frustrated or upset: briefly acknowledge how they feel before helping.",
    },
}


class OnnxGeneratorSettings(PluginSettings):
    """Model, prompt and sampling settings of the ONNX Runtime generator."""

    # which model
    source: str | None = None  # for `models prepare`: a .gguf file, a local HF directory or a hub id
    model_dir: Path | None = None  # default: <models_dir>/onnx (see model_dir.py for the layout)
    precision: Literal["auto", "int8", "int4", "fp32", "fp16"] = "auto"  # auto: fp16 on CUDA, int8 on CPU
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA only where it can really load
    threads: int | None = Field(None, ge=1)  # CPU intra-op threads; default: the cores we may use
    verify_sha256: bool = False  # hash every model file at start (slower start, catches bit rot)

    # what the prompt says
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    instructions: dict[str, dict[str, str]] = Field(default_factory=lambda: dict(DEFAULT_INSTRUCTIONS))
    intent_system_prompts: dict[str, str] = Field(default_factory=dict)
    annotation_min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    context_tokens: int = Field(2048, ge=64)  # prompt + reply must fit; oldest turns are dropped first

    # how tokens are chosen
    max_new_tokens: int = Field(160, ge=1)  # hard limit; a chat reply rarely needs more
    wrap_up_tokens: int = Field(80, ge=0)  # past this many tokens a reply ends at a sentence end; 0 = off
    temperature: float = Field(0.7, ge=0.0)  # 0 = greedy
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    top_k: int = Field(50, ge=0)  # 0 = off
    repetition_penalty: float = Field(1.1, gt=0.0)
    seed: int | None = None  # fixed seed: the same prompt gives the same reply
    stop: list[str] = Field(default_factory=list)  # the reply ends before any of these strings

    # serving
    max_batch: int = Field(16, ge=1)  # conversations decoded together in one step
    timeout: float = Field(120.0, gt=0)  # seconds one reply may take before it is cut short
