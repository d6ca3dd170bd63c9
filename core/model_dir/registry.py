"""Which trained model version each plugin serves: `<model root>/registry.json`.

The trainer writes promoted versions under `<model root>/versions/<id>/` and records them here;
a running bot watches this file (core/hotswap.py) and `interplay models rollback` rewinds it.
The model root is where the plugin looks for its model. A plugin that serves a model directory
says where in its class, with a `ModelHome` (`model_home = ModelHome("intent")`): its setting
(`model_dir`) when set, else `<models_dir>/<directory>`. The core knows no plugin's name.
No entry, or a `null` current version, means the model the plugin is configured with.

    {"format": 1, "current": {"id": "...", "path": "versions/<id>", "promoted_at": ..., ...} | null,
     "history": [<earlier current entries, newest last>], "rolled_back": [...]}
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import InterplayConfig
from ..errors import ModelError

REGISTRY = "registry.json"
VERSIONS = "versions"
FORMAT = 1

Entry = dict[str, Any]
log = logging.getLogger("interplay.models")


@dataclass(frozen=True)
class ModelHome:
    """Where a plugin keeps its model: the `setting` in `[plugins.<name>]`, else `<models_dir>/<directory>`.

    `legacy` lists directory names earlier releases used: a prepared model found there is still
    served (with a deprecation warning) until it is moved to `<models_dir>/<directory>`.
    """

    directory: str
    setting: str = "model_dir"
    legacy: tuple[str, ...] = ()

    def root(self, models_dir: Path | str, configured: Path | str | None = None) -> Path:
        """The model root: `configured` (the setting's value) if given, else the default directory."""
        if configured:
            return Path(configured).expanduser()
        default = Path(models_dir) / self.directory
        if not default.exists():
            for old in self.legacy:
                if (Path(models_dir) / old).exists():
                    _warn_legacy(Path(models_dir) / old, default)
                    return Path(models_dir) / old
        return default


_warned: set[Path] = set()


def _warn_legacy(old: Path, new: Path) -> None:
    if old in _warned:
        return
    _warned.add(old)
    why = f"the model directory {old} has an old name: move it to {new} (the old name stops working later)"
    warnings.warn(why, DeprecationWarning, stacklevel=3)
    log.warning("%s", why)


def model_root(config: InterplayConfig, plugin: str, home: ModelHome | None = None) -> Path:
    """Where `plugin` looks for its model, as configured (before any promotion).

    `home` is the plugin class's `model_home`; without one, `<models_dir>/<plugin>` (a third-party
    plugin that declares nothing) and the `model_dir` setting.
    """
    home = home or ModelHome(plugin)
    return home.root(config.models_dir, config.plugin_table(plugin).get(home.setting))


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


def promoted_config(config: InterplayConfig, homes: dict[str, ModelHome]) -> InterplayConfig:
    """`config` with each model plugin in `homes` (name -> its ModelHome) pointed at its promoted version."""
    for name, home in homes.items():
        try:
            path = current_path(model_root(config, name, home))
        except ModelError:
            continue  # an unreadable registry is reported by the swapper; serve the configured model
        if path is not None and path.is_dir():  # a deleted version: serve the configured model
            config = with_model_dir(config, name, path, home)
    return config


def with_model_dir(
    config: InterplayConfig, plugin: str, path: Path | None, home: ModelHome | None = None
) -> InterplayConfig:
    """`config` with one plugin's model directory replaced (None: as originally configured)."""
    if path is None:
        return config
    setting = (home or ModelHome(plugin)).setting
    plugins = {**config.plugins, plugin: {**config.plugin_table(plugin), setting: str(path)}}
    return config.model_copy(update={"plugins": plugins})
