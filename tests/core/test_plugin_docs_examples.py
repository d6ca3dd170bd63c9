"""docs/plugins.md: its examples run, and its data and packaging sections match the code (issue #21)."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import re
import sys
import typing
from pathlib import Path

import pytest
from interplay.core import messages
from interplay.core.scaffold_templates import PYPROJECT

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()
EXAMPLES = [b for b in re.findall(r"```python\n(.*?)```", DOCS, flags=re.S) if "async def test_" in b]


def _section(title: str) -> str:
    return DOCS.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "cls",
    [
        messages.Message,
        messages.Annotation,
        messages.Conversation,
        messages.Turn,
        messages.Reply,
        messages.Feedback,
    ],
)
def test_every_field_of_the_data_classes_is_documented(cls):
    data = _section("Data")
    assert f"`{cls.__name__}`" in data
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in data]
    assert not missing, f"docs/plugins.md ## Data lacks {cls.__name__} fields {missing}"


def test_the_role_values_are_documented():
    assert {f'`"{role}"`' for role in typing.get_args(messages.Role)} <= set(re.findall(r'`"\w+"`', DOCS))


def test_the_docs_show_the_pytest_settings_and_build_backend_the_scaffold_writes():
    ini = PYPROJECT.split("[tool.pytest.ini_options]\n", 1)[1].split("\n\n", 1)[0]
    assert "asyncio_default_fixture_loop_scope" in ini
    assert f"[tool.pytest.ini_options]\n{ini}\n" in _section("Packaging a plugin")
    assert 'build-backend = "setuptools.build_meta"' in PYPROJECT
    assert 'build-backend = "setuptools.build_meta"' in _section("Packaging a plugin")
    assert "py-modules" in PYPROJECT and "py-modules" in _section("Packaging a plugin")


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_the_docs_examples_pass(index, tmp_path, monkeypatch):
    name = f"plugins_md_example_{index}"
    path = tmp_path / f"{name}.py"
    path.write_text(EXAMPLES[index])
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    tests = [f for n, f in vars(module).items() if n.startswith("test_")]
    assert tests
    for test in tests:
        asyncio.run(test())


def test_there_is_an_example_of_faking_an_upstream_analyzer():
    assert any("fake_analyzer(" in example for example in EXAMPLES)
