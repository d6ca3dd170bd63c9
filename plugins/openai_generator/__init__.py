"""The `openai` generator plugin: replies streamed from any OpenAI-compatible chat-completions server.

vLLM, llama.cpp's server, Ollama, a hosted API, or Interplay's own `interplay serve-openai`. The
`openai` client library (the `openai` extra) is imported only when the generator is registered.
"""

from __future__ import annotations

from typing import Any

from interplay.core import hookimpl


@hookimpl
def register_generators(register: Any, config: Any) -> None:
    from .generator import OpenAIGenerator

    register(OpenAIGenerator)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import serve_openai

    cli.add_command(serve_openai)
