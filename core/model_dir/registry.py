"""Which trained model version each plugin serves: `<model root>/registry.json`.

The trainer writes promoted versions under `<model root>/versions/<id>/` and records them here;
a running bot watches this file (core/hotswap.py) and `interplay models rollback` rewinds it.
The model root is where the plugin looks for its model: its `model_dir` setting, else
`<models_dir>/<default dir>` (`generator` for the `onnx` plugin, the plugin's name otherwise).
No entry, or a `null` current version, means the model the plugin is configured with.

    {"format": 1, "current": {"id": "...", "path": "versions/<id>", "promoted_at": ..., ...} | null,
     "history": [<earlier current entries, newest last>], "rolled_back": [...]}
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..config import InterplayConfig
from ..errors import ModelError

REGISTRY = "registry.json"
VERSIONS = "versions"
FORMAT = 1
DEFAULT_DIRS = {"onnx": "generator"}  # plugins whose default model directory is not their own name

Entry = dict[str, Any]


def model_root(config: InterplayConfig, plugin: str) -> Path:
    """Where `plugin` looks for its model, as configured (before any promotion)."""
    configured = config.plugin_table(plugin).get("model_dir")
    if configured:
        return Path(configured).expanduser()
    return Path(config.models_dir) / DEFAULT_DIRS.get(plugin, plugin)


def read(root: Path) -> dict[str, Any]:
    """The registry in `root` (an empty one when there is none yet)."""
    path = root / REGISTRY
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "current": None, "history": [], "rolled_back": []}
    except (OSError, ValueError) as exc:
        why = f"{path} is unreadable ({exc}): fix or delete it to serve the configured model"
        raise ModelError(why) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path} is not a model registry this Interplay understands")
    return data


def write(root: Path, data: dict[str, Any]) -> None:
    """Replace the registry atomically: a watcher never sees half a file."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{REGISTRY}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, root / REGISTRY)


def current(root: Path) -> Entry | None:
    """The promoted version served now, or None for the configured model."""
    entry = read(root).get("current")
    return entry if isinstance(entry, dict) else None


def current_path(root: Path) -> Path | None:
    """The directory of the promoted version served now (None: the configured model)."""
    entry = current(root)
    return version_dir(root, entry.get("path")) if entry else None


def version_dir(root: Path, relative: Any) -> Path:
    """`root/<relative>`, which must lie inside `root/versions`: registry.json cannot point elsewhere."""
    versions = (root / VERSIONS).resolve()
    path = (root / str(relative)).resolve() if isinstance(relative, str) and relative else None
    if path is None or Path(str(relative)).is_absolute() or not path.is_relative_to(versions) \
            or path == versions:
        raise ModelError(f"{root / REGISTRY} names {relative!r}, which is not a version directory under "
                         f"{versions}: fix or remove the file (interplay models rollback rewrites it)")
    return path


def promote(root: Path, entry: Entry) -> dict[str, Any]:
    """Make `entry` (a version under `root/versions`) the one to serve; the old one goes to history."""
    if not version_dir(root, entry["path"]).is_dir():
        raise ModelError(f"cannot promote {entry['path']}: no such directory in {root}")
    data = read(root)
    data["history"].append(data.get("current"))
    data["current"] = {**entry, "promoted_at": time.time()}
    write(root, data)
    return data


def rollback(root: Path) -> Entry | None:
    """Serve the previously promoted version again; returns it (None: the configured model)."""
    data = read(root)
    if not data["history"]:
        raise ModelError(f"nothing to roll back to in {root / REGISTRY}: no earlier version was promoted")
    rejected = data.get("current")
    data["current"] = data["history"].pop()
    if rejected:
        data["rolled_back"].append({**rejected, "rolled_back_at": time.time()})
    write(root, data)
    return data["current"]


def promoted_config(config: InterplayConfig) -> InterplayConfig:
    """`config` with each enabled model plugin pointed at its promoted version, if it has one."""
    pipe = config.pipeline
    plugins = dict(config.plugins)
    for name in {pipe.generator, *pipe.analyzers} - {""}:
        try:
            path = current_path(model_root(config, name))
        except ModelError:
            continue  # an unreadable registry is reported by the swapper; serve the configured model
        if path is not None and path.is_dir():  # a deleted version: serve the configured model
            plugins[name] = {**config.plugin_table(name), "model_dir": str(path)}
    return config if plugins == config.plugins else config.model_copy(update={"plugins": plugins})


def with_model_dir(config: InterplayConfig, plugin: str, path: Path | None) -> InterplayConfig:
    """`config` with one plugin's model directory replaced (None: as originally configured)."""
    if path is None:
        return config
    plugins = {**config.plugins, plugin: {**config.plugin_table(plugin), "model_dir": str(path)}}
    return config.model_copy(update={"plugins": plugins})
