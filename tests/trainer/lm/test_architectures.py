"""Any causal LM: tiny random Llama and Gemma 3 models go through `models prepare` from a local
Hugging Face directory, match PyTorch, and are served by the onnx generator."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from interplay.core import Conversation, Message, PluginContext
from interplay.plugins.onnx_generator.generator import OnnxGenerator
from interplay.trainer.lm import prepare as prep
from interplay.trainer.lm.parity import torch_greedy

ARCHITECTURES = ("llama", "gemma3")
GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0, "top_k": 0}
# longer than the tiny Gemma's sliding window (8 tokens), so the windowed layers really cut
LONG = "My order arrived broken and nobody answers my emails, which is frustrating. Could you help?"


def tiny(arch: str) -> tuple[Any, Any]:
    from interplay.trainer.lm import tiny

    if arch == "gemma3":
        tokenizer = tiny.tiny_tokenizer(style="gemma")
        return tiny.tiny_gemma3(tokenizer), tokenizer
    tokenizer = tiny.tiny_tokenizer()
    return tiny.tiny_llama(tokenizer, seed=3), tokenizer


@pytest.fixture(scope="module", params=ARCHITECTURES)
def prepared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A checkpoint saved as a Hugging Face directory, prepared the way the CLI does it (fp32 only:
    the quantized variants are tested on the Llama model in test_lm_prepare.py)."""
    arch = request.param
    model, tokenizer = tiny(arch)
    checkpoint = tmp_path_factory.mktemp(arch) / f"tiny-{arch}"
    model.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    models_dir = checkpoint.parent / "models"
    config = SimpleNamespace(models_dir=models_dir,
                             plugin_table=lambda name: {"source": str(checkpoint)} if name == "onnx" else {})
    root = prep.prepare_generator(config, variants=("fp32",))
    return SimpleNamespace(arch=arch, model=model, tokenizer=tokenizer, root=root, config=config)


def manifest(root: Path, precision: str) -> dict[str, Any]:
    return json.loads((root / precision / "manifest.json").read_text())


def test_prepare_takes_a_local_directory_and_matches_pytorch(prepared: Any) -> None:
    m = manifest(prepared.root, "fp32")
    checkpoint = prepared.root.parent.parent / f"tiny-{prepared.arch}"
    assert m["source"] == {"kind": "local", "location": str(checkpoint), "gguf_file": None}
    assert m["architecture"] == type(prepared.model).__name__
    assert m["parity"]["exact"] and m["parity"]["max_abs_logit_diff"] < 1e-3
    end = "<end_of_turn>" if prepared.arch == "gemma3" else "<|im_end|>"
    assert prepared.tokenizer.convert_tokens_to_ids(end) in m["stop_token_ids"]


async def test_the_generator_serves_it_greedy_as_pytorch(prepared: Any, tmp_path: Path) -> None:
    settings = OnnxGenerator.Settings(model_dir=prepared.root, precision="fp32", threads=1,
                                      max_new_tokens=24, **GREEDY)
    gen = OnnxGenerator(settings, PluginContext(None, tmp_path, None))
    await gen.start()
    try:
        prompt = gen.prompts.build(Conversation("c", Message("test", "c", "u", LONG)))
        got = [t async for t in gen.tokens(prompt, gen.sampling())]
        stop = gen.model.stop_token_ids
    finally:
        await gen.stop()
    assert len(prompt) > 8
    _, expected = torch_greedy(prepared.model, prompt, 24)
    cut = next((i for i, t in enumerate(expected) if t in stop), len(expected))
    assert got == expected[:cut]


def test_a_different_source_is_rebuilt_not_reused(prepared: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(prep, "build_generator",
                        lambda source, root, **kw: built.append(source.location) or root)
    assert prep.prepare_generator(prepared.config, variants=("fp32",)) == prepared.root
    assert built == []  # same source: instant
    other = SimpleNamespace(models_dir=prepared.config.models_dir,
                            plugin_table=lambda name: {"source": str(prepared.root.parent)})
    prep.prepare_generator(other, variants=("fp32",))
    assert built == [str(prepared.root.parent)]


def test_a_gemma_vocabulary_without_a_chat_template_gets_gemmas_turn_format() -> None:
    from interplay.trainer.lm import source, tiny

    gemma = tiny.tiny_tokenizer(style="gemma")
    gemma.chat_template = None  # as in Gemma 3 270M's base-model GGUF
    source.add_missing_chat_template(gemma)
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"}, {"role": "user", "content": "ok?"}]
    assert gemma.apply_chat_template(chat, add_generation_prompt=True, tokenize=False) == (
        "<bos><start_of_turn>user\nBe brief.\n\nhi<end_of_turn>\n<start_of_turn>model\nhello<end_of_turn>\n"
        "<start_of_turn>user\nok?<end_of_turn>\n<start_of_turn>model\n")
    chatml = tiny.tiny_tokenizer()
    chatml.chat_template = None
    source.add_missing_chat_template(chatml)  # no Gemma markers: left alone, the runtime names the gap
    assert chatml.chat_template is None
