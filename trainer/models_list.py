"""`interplay models list`: every model directory under models_dir, its version, precision and size,
and which one each plugin serves. Reads manifests only: no torch, no ONNX Runtime session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interplay.core import model_registry
from interplay.core.config import InterplayConfig
from interplay.core.plugins import load_registry


@dataclass(frozen=True)
class ModelRow:
    plugin: str
    path: Path
    version: str
    precision: str
    size: int
    created: str
    served: bool


def model_rows(config: InterplayConfig, cuda: bool | None = None) -> list[ModelRow]:
    """One row per model directory (a manifest.json) of each model plugin, the served one marked."""
    rows: list[ModelRow] = []
    plugins = load_registry(config)
    # every installed plugin whose class declares a model home, built-in or not
    for plugin in sorted({n for per_kind in plugins.components.values() for n in per_kind}):
        home = plugins.model_home(plugin)
        if home is None:
            continue
        root = model_registry.model_root(config, plugin, home)
        if not root.is_dir():
            continue
        served = served_directory(config, plugin, root, cuda)
        for manifest in sorted(root.rglob("manifest.json")):
            if len(manifest.relative_to(root).parts) > 4:
                continue
            rows.append(_row(plugin, manifest, served))
    return rows


def served_directory(config: InterplayConfig, plugin: str, root: Path, cuda: bool | None) -> Path | None:
    """The directory the plugin loads: a promoted version if there is one, else the configured root
    (for a generator root with fp32/int8/fp16 variants, the precision the onnx plugin picks)."""
    try:
        chosen = model_registry.current_path(root) or root
    except Exception:  # an unreadable registry: the plugin serves the configured model
        chosen = root
    if (chosen / "manifest.json").is_file():
        return chosen
    if plugin == "onnx":
        wanted = str(config.plugin_table("onnx").get("precision", "auto"))
        if wanted == "auto":
            wanted = "fp16" if (cuda if cuda is not None else _cuda_usable()) else "int8"
        return chosen / wanted
    return None


def _cuda_usable() -> bool:
    from interplay.core.model_dir import cuda_usable  # False without ONNX Runtime: nothing runs on CUDA

    return cuda_usable()


def _row(plugin: str, manifest: Path, served: Path | None) -> ModelRow:
    try:
        data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    files = data.get("files") if isinstance(data.get("files"), dict) else None
    if files:
        size = sum(int(f.get("bytes") or f.get("size") or 0) for f in files.values() if isinstance(f, dict))
    else:
        size = sum(p.stat().st_size for p in manifest.parent.iterdir() if p.is_file())
    directory = manifest.parent
    return ModelRow(
        plugin=plugin,
        path=directory,
        version=str(data.get("version") or data.get("name") or "?"),
        precision=str(data.get("precision") or "-"),
        size=size,
        created=str(data.get("created_at") or "")[:19].replace("T", " "),
        served=served is not None and directory.resolve() == served.resolve(),
    )


def format_rows(rows: list[ModelRow], models_dir: Path) -> list[str]:
    """The table `models list` prints."""
    table = [("PLUGIN", "VERSION", "PRECISION", "SIZE", "CREATED", "SERVED", "DIRECTORY")]
    for r in rows:
        where = r.path.relative_to(models_dir) if r.path.is_relative_to(models_dir) else r.path
        table.append(
            (r.plugin, r.version, r.precision, f"{r.size / 1e6:.1f} MB", r.created, "*" if r.served else "",
             str(where))
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
