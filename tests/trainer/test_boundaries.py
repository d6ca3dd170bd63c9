"""The trainer reaches the runtime through core's model-directory module and the plugins' public API.

A plugin package's public API is its `__all__`; its submodules are internal and may change.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import interplay.trainer

TRAINER = Path(interplay.trainer.__file__).parent


def plugin_imports() -> list[tuple[str, int, str, list[str]]]:
    """(file, line, module, names) of every import from interplay.plugins in the trainer."""
    found = []
    for path in sorted(TRAINER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("interplay.plugins"):
                found.append((path.name, node.lineno, str(node.module), [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(path.name, node.lineno, a.name, []) for a in node.names
                          if a.name.startswith("interplay.plugins")]
    return found


def test_the_trainer_imports_only_what_plugin_packages_declare_public() -> None:
    imports = plugin_imports()
    assert imports, "the scan found nothing: is the trainer still where this test looks?"
    wrong = []
    for file, line, module, names in imports:
        if module.count(".") != 2 or not names:  # interplay.plugins.<package>, from-imports only
            wrong.append(f"{file}:{line} imports {module} (a plugin's internal module)")
            continue
        public = set(getattr(importlib.import_module(module), "__all__", ()))
        wrong += [f"{file}:{line} imports {name} from {module}, not in its __all__"
                  for name in names if name not in public]
    assert not wrong, "\n".join(wrong)


def test_every_public_name_of_the_plugin_packages_imports() -> None:
    for package in ("nlu", "entities", "onnx_generator"):
        module = importlib.import_module(f"interplay.plugins.{package}")
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"
