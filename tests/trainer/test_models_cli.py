"""`interplay models list` shows versions, precision, sizes and what is served; `models prepare`
keeps library INFO logs off the console (issue #21)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from interplay.core import model_registry
from interplay.core.cli import cli
from interplay.core.config import InterplayConfig
from interplay.trainer.models_list import format_rows, model_rows


def _variant(path: Path, kind: str, precision: str, version: str, size: int) -> None:
    path.mkdir(parents=True)
    (path / "model.onnx").write_bytes(b"\0" * size)
    manifest = {
        "kind": kind,
        "precision": precision,
        "version": version,
        "created_at": "2026-12-01T10:00:00",
        "files": {"model.onnx": {"bytes": size, "sha256": "0"}},
    }
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_models_list_marks_what_each_plugin_serves(tmp_path: Path) -> None:
    root = tmp_path / "models"
    for precision, size in (("fp32", 4_000_000), ("int8", 1_000_000), ("fp16", 2_000_000)):
        _variant(root / "onnx" / precision, "generator", precision, f"gen-{precision}", size)
    _variant(root / "intent", "classifier", "int8", "intent-1", 500_000)
    _variant(root / "intent" / "versions" / "v2", "classifier", "int8", "intent-2", 600_000)
    model_registry.promote(root / "intent", {"id": "v2", "path": "versions/v2"})
    config = InterplayConfig.model_validate({"interplay": {"models_dir": str(root)}})

    rows = model_rows(config, cuda=False)
    served = {(r.plugin, r.version) for r in rows if r.served}
    assert served == {("onnx", "gen-int8"), ("intent", "intent-2")}  # int8 on a CPU; the promoted version
    assert {r.version: r.size for r in rows}["gen-fp32"] == 4_000_000
    assert {(r.plugin, r.version) for r in model_rows(config, cuda=True) if r.served} >= {
        ("onnx", "gen-fp16")
    }

    lines = format_rows(rows, root)
    assert lines[0].split() == ["PLUGIN", "VERSION", "PRECISION", "SIZE", "CREATED", "SERVED", "DIRECTORY"]
    int8 = next(line for line in lines if "gen-int8" in line)
    assert "1.0 MB" in int8 and "*" in int8 and "onnx/int8" in int8

    done = CliRunner().invoke(cli, ["models", "list"], env={"INTERPLAY_INTERPLAY__MODELS_DIR": str(root)})
    assert done.exit_code == 0, done.output
    assert "intent-2" in done.output and "PRECISION" in done.output


def test_the_models_help_lists_only_real_subcommands() -> None:
    done = CliRunner().invoke(cli, ["models", "--help"])
    commands = done.output.split("Commands:")[1].split()
    assert {"list", "prepare", "rollback"} <= set(commands)
    assert "Prepare the default models, list model directories" in done.output


def test_prepare_keeps_library_info_logs_off_the_console(tmp_path: Path, monkeypatch) -> None:
    def fake_prepare_all(config, *, only=None, force=False, finetune=None):
        # what importing onnxruntime.quantization.matmul_nbits_quantizer does, then logs per matrix
        logging.basicConfig(format="%(message)s", level=logging.INFO)
        logging.getLogger("onnxruntime.quantization").info("start to quantize /model/layers.0/MatMul")
        logging.getLogger("onnxruntime.quantization").warning("a warning a user should see")
        click.echo("generator: ready")

    monkeypatch.setattr("interplay.trainer.prepare.prepare_all", fake_prepare_all)
    env = {"INTERPLAY_INTERPLAY__MODELS_DIR": str(tmp_path)}
    before = list(logging.getLogger().handlers)
    done = CliRunner().invoke(cli, ["--config", "/dev/null", "models", "prepare"], env=env)
    assert done.exit_code == 0, done.output
    assert "start to quantize" not in done.output
    assert "generator: ready" in done.output and "a warning a user should see" in done.output
    assert "start to quantize /model/layers.0/MatMul" in (tmp_path / "prepare.log").read_text()
    assert logging.getLogger().handlers == before  # put back as it was


def test_models_list_still_finds_a_generator_prepared_under_the_old_directory(tmp_path: Path) -> None:
    root = tmp_path / "models"
    _variant(root / "generator" / "int8", "generator", "int8", "gen-old", 1_000_000)  # an earlier release
    config = InterplayConfig.model_validate({"interplay": {"models_dir": str(root)}})
    with pytest.warns(DeprecationWarning, match=r"move it to .*onnx"):
        rows = model_rows(config, cuda=False)
    assert ("onnx", "gen-old", True) in {(r.plugin, r.version, r.served) for r in rows}


@pytest.mark.parametrize("name", ["onnx", "generator"])
def test_prepare_only_onnx_and_its_old_name_generator(name: str, tmp_path: Path, monkeypatch) -> None:
    prepared: list[bool] = []
    monkeypatch.setattr("interplay.trainer.lm.prepare.prepare_generator",
                        lambda config, force=False: prepared.append(force) or tmp_path / "onnx")

    def not_asked(*args, **kwargs):
        raise AssertionError("--only onnx prepared a classifier")

    monkeypatch.setattr("interplay.trainer.classifier.defaults.prepare_default_classifier", not_asked)
    env = {"INTERPLAY_INTERPLAY__MODELS_DIR": str(tmp_path)}
    done = CliRunner().invoke(cli, ["--config", "/dev/null", "models", "prepare", "--only", name], env=env)
    assert done.exit_code == 0, done.output
    assert prepared == [False] and f"onnx: {tmp_path / 'onnx'}" in done.output
    assert ("--only generator is deprecated: use --only onnx" in done.output) == (name == "generator")
