"""Generator model directories: layout, manifest validation, and which variant to load.

Layout written by `interplay models prepare` (and by `interplay.trainer.lm.export`):

    <models_dir>/onnx/                 the generator root (`<models_dir>/generator/` before; still found)
        fp32/  int8/  int4/  fp16/     one complete model directory per precision
            model.onnx [+ model.onnx_data]   ONNX decoder with KV cache (Optimum layout)
            tokenizer.json, tokenizer_config.json, special_tokens_map.json, config.json
            manifest.json              kind, precision, source, sha256 of every file, parity, ...

`model_dir` in config may name the root (the precision is then chosen) or one variant directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interplay.core import ModelError
from interplay.core.model_dir import MANIFEST, check_files, file_sha256, load_manifest

MANIFEST_FORMAT = 1
PRECISIONS = ("fp32", "int8", "int4", "fp16")
PREPARE_HINT = "run `interplay models prepare` (or `--force` to rebuild)"


@dataclass(frozen=True)
class ModelDirectory:
    """A validated model directory and what its manifest says."""

    path: Path
    manifest: dict[str, Any]

    @property
    def precision(self) -> str:
        return str(self.manifest["precision"])

    @property
    def onnx_path(self) -> Path:
        return self.path / self.manifest.get("model_file", "model.onnx")

    @property
    def version(self) -> str:
        fallback = f"{self.manifest.get('name', 'generator')}-{self.precision}"
        return str(self.manifest.get("version") or fallback)

    @property
    def stop_token_ids(self) -> set[int]:
        return {int(t) for t in self.manifest.get("stop_token_ids", [])}

    @property
    def context_length(self) -> int:
        return int(self.manifest.get("context_length", 2048))


__all__ = ["MANIFEST", "ModelDirectory", "check_files", "file_sha256", "read_manifest", "resolve"]


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of one variant directory; ModelError if it is missing, unreadable or not a generator's."""
    manifest = load_manifest(path, PREPARE_HINT)
    if manifest.get("kind") != "generator" or manifest.get("precision") not in PRECISIONS:
        raise ModelError(f"{path} is not a generator model directory (kind={manifest.get('kind')!r}, "
                         f"precision={manifest.get('precision')!r}): point [plugins.onnx] model_dir at one")
    return manifest


def resolve(root: Path, precision: str, *, verify_sha256: bool = False) -> ModelDirectory:
    """The variant to load: `root` itself if it holds a manifest, else `root/<precision>`."""
    root = root.expanduser()
    path = root if (root / MANIFEST).is_file() else root / precision
    manifest = read_manifest(path)
    check_files(path, manifest, PREPARE_HINT, verify_sha256=verify_sha256)
    return ModelDirectory(path, manifest)


def choose_precision(configured: str, cuda: bool) -> str:
    """'auto' means fp16 on a usable GPU and int8 on the CPU."""
    if configured != "auto":
        return configured
    return "fp16" if cuda else "int8"
