"""Hot swap takes up only what the trainer wrote: a version inside the model root, matching its sha256.

And a model started for a swap that then fails is stopped, with the swap's own error reported.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from interplay.core import Conversation, ModelError, ModelHome, hookimpl
from interplay.core import model_registry as registry
from interplay.core.model_dir import MANIFEST, ModelManifest, manifest_files, verify_version
from interplay.testing import run_bot

from .test_learning import VersionedGenerator, plugins, swap_config, version_root


def _current(root: Path, path: str) -> None:
    """registry.json naming `path`, written by hand (registry.promote refuses such paths)."""
    data = {"format": registry.FORMAT, "current": {"id": "x", "path": path}, "history": [], "rolled_back": []}
    (root / registry.REGISTRY).write_text(json.dumps(data))


def _no_reload(root: Path) -> dict[str, object]:
    return swap_config(root, hot_swap=True, watch_interval=3600)  # swaps only on /reload


@pytest.mark.parametrize("where", ["../elsewhere", "absolute", "symlink"])
async def test_hot_swap_refuses_a_registry_path_outside_the_model_root(tmp_path: Path, where: str) -> None:
    root = version_root(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "version.txt").write_text("planted")
    if where == "symlink":
        (root / "versions").mkdir()
        (root / "versions" / "link").symlink_to(elsewhere)
    path = {"../elsewhere": "../elsewhere", "absolute": str(elsewhere), "symlink": "versions/link"}[where]
    async with run_bot(plugins, **_no_reload(root)) as bot:
        _current(root, path)
        started = VersionedGenerator.started_count
        answer = await bot.say("/reload", user="boss")
        assert "failed to load" in answer.text and "not a version directory" in answer.text
        assert VersionedGenerator.started_count == started  # never even built from there
        assert (await bot.say("still v0?")).reply.model_version == "v0"


def _hashed_version(root: Path, name: str) -> Path:
    """A version as the trainer leaves it: the model, a tokenizer file and a manifest hashing both."""
    version = root / "versions" / name
    (version / "tokenizer.json").write_text('{"model": {"vocab": {"hello": 0, "world": 1}}}')
    manifest = {"kind": "generator", "model_file": "version.txt", "files": manifest_files(version)}
    (version / MANIFEST).write_text(json.dumps(manifest))
    return version


async def test_a_version_whose_tokenizer_does_not_match_its_sha256_is_not_swapped_in(tmp_path: Path) -> None:
    root = version_root(tmp_path, "v1", "v2")
    version = _hashed_version(root, "v1")
    _hashed_version(root, "v2")
    tokenizer = version / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"hello": 0', '"hello": 7'))  # same size, other bytes
    async with run_bot(plugins, **_no_reload(root)) as bot:
        registry.promote(root, {"id": "v1", "path": "versions/v1"})
        started = VersionedGenerator.started_count
        answer = await bot.say("/reload", user="boss")
        assert "failed to load" in answer.text and "tokenizer.json does not match its sha256" in answer.text
        assert VersionedGenerator.started_count == started
        assert (await bot.say("still v0?")).reply.model_version == "v0"
        registry.promote(root, {"id": "v2", "path": "versions/v2"})  # intact: taken up
        assert "now serving v2" in (await bot.say("/reload", user="boss")).text


def test_the_trainers_manifest_hashes_every_file_and_the_check_names_the_changed_one(tmp_path: Path) -> None:
    model = tmp_path / "intent"
    model.mkdir()
    for name, text in {"model.onnx": "graph", "tokenizer.json": "{}", "vocab.txt": "a\nb\n"}.items():
        (model / name).write_text(text)
    ModelManifest(kind="intent", labels=["greet"]).save(model)
    files = json.loads((model / MANIFEST).read_text())["files"]
    assert set(files) == {"model.onnx", "tokenizer.json", "vocab.txt"}
    assert all(len(info["sha256"]) == 64 and info["bytes"] > 0 for info in files.values())
    assert verify_version(model) == 3
    (model / "vocab.txt").write_text("a\nc\n")
    with pytest.raises(ModelError, match=r"vocab\.txt does not match its sha256"):
        verify_version(model)


def test_a_manifest_cannot_name_a_file_outside_its_directory(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (tmp_path / "secret").write_text("x")
    (model / MANIFEST).write_text(
        json.dumps({"kind": "intent", "files": {"../secret": {"sha256": "0" * 64}}})
    )
    with pytest.raises(ModelError, match="not a file inside the model directory"):
        verify_version(model)


class FragileGenerator(VersionedGenerator):
    """A version named "explode" starts but cannot generate (so its warm-up fails) nor stop cleanly."""

    name = "fragile"
    model_home = ModelHome("fragile")
    stopped_versions: ClassVar[list[str]] = []

    async def stop(self) -> None:
        self.stopped = True
        FragileGenerator.stopped_versions.append(self.version)
        if self.version == "explode":
            raise OSError("stop failed too")

    async def stream(self, conversation: Conversation) -> AsyncIterator[str]:
        if self.version == "explode":
            raise RuntimeError("warm-up exploded")
        async for delta in super().stream(conversation):
            yield delta


fragile = SimpleNamespace(register_generators=hookimpl(lambda register: register(FragileGenerator)))


async def test_a_model_started_for_a_failed_swap_is_stopped_and_the_swap_error_is_reported(
    tmp_path: Path,
) -> None:
    root = version_root(tmp_path, "explode")
    config = swap_config(root, hot_swap=True, watch_interval=3600)
    config["generator"] = "fragile"
    config["settings"] = {"fragile": config["settings"]["versioned"]}  # type: ignore[index]
    FragileGenerator.stopped_versions.clear()
    async with run_bot(fragile, **config) as bot:
        registry.promote(root, {"id": "explode", "path": "versions/explode"})
        answer = await bot.say("/reload", user="boss")
        assert "failed to load" in answer.text and "warm-up exploded" in answer.text  # not the stop's error
        assert FragileGenerator.stopped_versions == ["explode"]  # stopped, though its stop raised
        assert (await bot.say("still v0?")).reply.model_version == "v0"
