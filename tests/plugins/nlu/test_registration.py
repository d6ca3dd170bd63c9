"""The analyzers are registered under the same names as their entry points and config tables."""

from __future__ import annotations

import importlib
import importlib.metadata as md

import pytest


@pytest.mark.parametrize("name", ["intent", "sentiment"])
def test_entry_point_name_equals_analyzer_name(name: str) -> None:
    points = {ep.name: ep.value for ep in md.entry_points(group="interplay")}
    assert points.get(name) == f"interplay.plugins.nlu.{name}"
    module = importlib.import_module(points[name])
    registered = []
    module.register_analyzers(registered.append, None)
    assert [cls.name for cls in registered] == [name]
