"""The loop's commands through the real CLI: data export, loop --once, models rollback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from interplay.core import model_registry as registry
from interplay.core.cli import cli
from interplay.core.store import SQLiteStore

from .test_export import fill


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[interplay]\ndata_dir = "{tmp_path}"\nmodels_dir = "{tmp_path / "models"}"\n'
        "[pipeline]\ngenerator = \"onnx\"\n[loop]\nmin_new_feedback = 1000\n"
    )
    return config


async def filled_store(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await fill(store, conversations=10)
    await store.close()


def test_export_then_loop_waits_for_new_feedback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    asyncio.run(filled_store(tmp_path / "interplay.sqlite3"))
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "data", "export"])
    assert result.exit_code == 0, result.output
    dataset = tmp_path / "datasets" / "v0001"
    assert f"dataset: {dataset}" in result.output
    assert json.loads((dataset / "dataset.json").read_text())["feedback_items"] == 20
    result = runner.invoke(cli, ["--config", str(config), "loop", "--once"])
    assert result.exit_code == 0 and "0 new feedback items; waiting for 1000" in result.output


def test_rollback_names_what_is_served(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    root = tmp_path / "models" / "onnx"
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "models", "rollback"])
    assert result.exit_code == 1 and "nothing to roll back" in result.output
    for version in ("a", "b"):
        (root / "versions" / version).mkdir(parents=True)
        registry.promote(root, {"id": version, "path": f"versions/{version}"})
    result = runner.invoke(cli, ["--config", str(config), "models", "rollback"])
    assert result.exit_code == 0 and "onnx: now serving a" in result.output
    assert registry.current(root)["id"] == "a"
    assert [e["id"] for e in registry.read(root)["rolled_back"]] == ["b"]
