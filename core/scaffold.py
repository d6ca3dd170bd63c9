"""`interplay new-plugin`: write a plugin package that installs and passes its own tests."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import InterplayError
from .scaffold_templates import MODULES, PIPELINE_HINT, PYPROJECT, README, TESTS

NAME_RULE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
KINDS = tuple(MODULES)


def names_for(name: str, kind: str) -> dict[str, str]:
    """Every spelling of the plugin's name the templates need."""
    if not NAME_RULE.match(name):
        raise InterplayError(
            f"plugin name {name!r} must start with a letter and use only a-z, 0-9, '-' and '_' "
            "(it becomes the [plugins.<name>] table and the entry point name)"
        )
    if kind not in MODULES:
        raise InterplayError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    snake = name.replace("-", "_")
    return {
        "name": name,
        "kind": kind,
        "module": f"interplay_{snake}",
        "dist": f"interplay-{name.replace('_', '-')}",
        "cls": "".join(part.capitalize() for part in re.split(r"[-_]", name)),
    }


def render(name: str, kind: str) -> dict[str, str]:
    """Relative path -> file content for a new plugin package."""
    values = names_for(name, kind)
    hint = PIPELINE_HINT[kind].format(**values)
    return {
        "pyproject.toml": PYPROJECT.format(**values),
        "README.md": README.format(pipeline_hint=hint, **values),
        f"{values['module']}.py": MODULES[kind].format(**values),
        f"tests/test_{values['module'][len('interplay_') :]}.py": TESTS[kind].format(**values),
    }


def scaffold(name: str, kind: str, target: Path) -> list[Path]:
    """Write the package into `target` (new or empty); returns the files written."""
    files = render(name, kind)
    if target.exists() and any(target.iterdir()):
        raise InterplayError(f"{target} already exists and is not empty: choose another name or --directory")
    written = []
    for relative, content in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
