"""registry.json can only name a version directory under the model root: never an absolute or ../ path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interplay.core import ModelError
from interplay.core.model_dir import registry


def _registry(root: Path, path: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    entry = {"id": "x", "path": path}
    data = {"format": registry.FORMAT, "current": entry, "history": []}
    (root / registry.REGISTRY).write_text(json.dumps(data))


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "versions/../../elsewhere", "versions", ""])
def test_a_path_outside_the_versions_directory_is_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "generator"
    (tmp_path / "elsewhere").mkdir()
    _registry(root, path)
    with pytest.raises(ModelError, match="not a version directory"):
        registry.current_path(root)


def test_a_version_directory_is_served(tmp_path: Path) -> None:
    root = tmp_path / "generator"
    (root / "versions" / "v1").mkdir(parents=True)
    _registry(root, "versions/v1")
    assert registry.current_path(root) == (root / "versions" / "v1").resolve()
