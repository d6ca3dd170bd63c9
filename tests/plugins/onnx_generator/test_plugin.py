"""Registration, settings, model-directory errors, light imports, quiet providers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from interplay.core import ModelError, PluginContext
from interplay.plugins import onnx_generator
from interplay.plugins.onnx_generator import model_dir
from interplay.plugins.onnx_generator.generator import OnnxGenerator
from interplay.plugins.onnx_generator.session import DecoderSession
from pydantic import ValidationError


def test_registers_the_onnx_generator() -> None:
    registered: list[type] = []
    onnx_generator.register_generators(registered.append, None)
    assert registered == [OnnxGenerator] and OnnxGenerator.name == "onnx"


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="temprature"):
        OnnxGenerator.Settings(temprature=0.5)


def test_importing_the_plugin_stays_light() -> None:
    code = ("import sys, interplay.plugins.onnx_generator, interplay.core; "
            "print(sorted(m for m in ('torch', 'onnxruntime', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cpu_session_prints_no_provider_errors(tiny_root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    DecoderSession(tiny_root / "int8" / "model.onnx", threads=1)
    err = capfd.readouterr().err
    assert "CUDA" not in err and "Error" not in err


def test_missing_model_says_to_prepare(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="interplay models prepare"):
        model_dir.resolve(tmp_path / "nowhere", "int8")


def test_truncated_model_file_is_caught(tiny_root: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_root / "fp32", tmp_path / "fp32")
    data = (copy / "model.onnx").read_bytes()
    (copy / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="wrong size"):
        model_dir.resolve(copy, "fp32")


def test_bit_rot_is_caught_when_verifying(tiny_root: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_root / "fp32", tmp_path / "fp32")
    data = bytearray((copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(data))
    model_dir.resolve(copy, "fp32")  # sizes match: only hashing notices
    with pytest.raises(ModelError, match="sha256"):
        model_dir.resolve(copy, "fp32", verify_sha256=True)


def test_wrong_kind_of_directory_is_refused(tiny_root: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_root / "fp32", tmp_path / "fp32")
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "kind": "intent"}))
    with pytest.raises(ModelError, match="not a generator"):
        model_dir.resolve(copy, "fp32")


def test_auto_precision_is_int8_on_cpu() -> None:
    assert model_dir.choose_precision("auto", cuda=False) == "int8"
    assert model_dir.choose_precision("auto", cuda=True) == "fp16"
    assert model_dir.choose_precision("fp32", cuda=True) == "fp32"


async def test_default_model_dir_comes_from_models_dir(tiny_root: Path, tmp_path: Path) -> None:
    class Config:
        models_dir = tiny_root.parent

    generator = OnnxGenerator(OnnxGenerator.Settings(threads=1), PluginContext(None, tmp_path, Config()))
    await generator.start()
    try:
        assert generator.model is not None and generator.model.path == tiny_root / "int8"
    finally:
        await generator.stop()


async def test_not_started_is_a_clear_error(tmp_path: Path) -> None:
    generator: Any = OnnxGenerator(OnnxGenerator.Settings(), PluginContext(None, tmp_path, None))
    with pytest.raises(ModelError, match="not started"):
        await anext(generator.tokens([1], generator.sampling()))


def test_starting_the_generator_never_imports_torch(tiny_root: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from interplay.core import PluginContext\n"
        "from interplay.plugins.onnx_generator.generator import OnnxGenerator\n"
        f"g = OnnxGenerator(OnnxGenerator.Settings(model_dir=Path({str(tiny_root)!r}), threads=1),"
        " PluginContext(None, Path('.'), None))\n"
        "asyncio.run(g.start()); asyncio.run(g.stop())\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_generator_asks_the_cores_one_cuda_probe() -> None:
    from interplay.core import model_dir
    from interplay.plugins.nlu import model_dir as nlu_model_dir
    from interplay.plugins.onnx_generator import generator, session

    assert session.cuda_usable is model_dir.cuda_usable
    assert generator.choose_device is model_dir.choose_device
    assert nlu_model_dir.providers_for is model_dir.providers_for


def test_the_onnx_plugin_has_one_name() -> None:
    from interplay.core import ModelHome

    home = OnnxGenerator.model_home
    assert isinstance(home, ModelHome) and home.directory == OnnxGenerator.name == "onnx"
    assert home.legacy == ("generator",)  # where earlier releases prepared it


async def test_a_model_prepared_under_the_old_directory_name_is_still_served(
    tiny_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Config:
        models_dir = tmp_path / "models"

    shutil.copytree(tiny_root, Config.models_dir / "generator")  # what an earlier `models prepare` wrote
    generator = OnnxGenerator(OnnxGenerator.Settings(threads=1), PluginContext(None, tmp_path, Config()))
    with pytest.warns(DeprecationWarning, match=r"generator has an old name: move it to .*onnx"):
        await generator.start()
    try:
        assert generator.model is not None
        assert generator.model.path == Config.models_dir / "generator" / "int8"
        assert "move it to" in caplog.text  # also in the log, where someone running a bot sees it
    finally:
        await generator.stop()

    shutil.copytree(tiny_root, Config.models_dir / "onnx")  # moved (a copy here): the new name wins
    generator = OnnxGenerator(OnnxGenerator.Settings(threads=1), PluginContext(None, tmp_path, Config()))
    await generator.start()
    try:
        assert generator.model is not None and generator.model.path == Config.models_dir / "onnx" / "int8"
    finally:
        await generator.stop()
