"""The shape of core/: no import cycle (type-level imports included), no part that takes the whole bot."""

from __future__ import annotations

import ast
from pathlib import Path

import interplay.core

CORE = Path(interplay.core.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("interplay.core", *parts))


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """Modules of interplay.core that `path` imports; with `top_level_only`, not those inside functions
    (but those under `if TYPE_CHECKING:` count: a type-level cycle is still a cycle)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    nodes = []
    if top_level_only:
        stack = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If | ast.Try):
                stack.extend([*node.body, *node.orelse])
                stack.extend([*getattr(node, "handlers", []), *getattr(node, "finalbody", [])])
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)
            else:
                nodes.append(node)
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # `from . import hookspecs`
    return found


def import_graph(*, top_level_only: bool = True) -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in CORE.rglob("*.py") if "testing" not in p.parts}
    graph = {}
    for module, path in paths.items():
        graph[module] = {
            m for m in _imports(path, module, top_level_only=top_level_only) if m in paths and m != module
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_core_has_no_import_cycle_not_even_at_type_level():
    graph = import_graph()
    assert "interplay.core.app" in graph["interplay.core.assembly"]  # the graph sees real imports
    assert cycles(graph) == []


def test_no_part_of_core_imports_the_bot_but_its_builder_and_the_cli():
    importers = {m for m, deps in import_graph(top_level_only=False).items() if "interplay.core.app" in deps}
    assert importers <= {"interplay.core.assembly", "interplay.core.cli", "interplay.core"}, importers
