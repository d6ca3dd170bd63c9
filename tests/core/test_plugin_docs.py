"""docs/plugins.md describes every hook and every base-class member, with their real parameters."""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

from interplay.core import contracts, hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _params(function) -> str:
    """`a, b, *, c, d=None` as a reader would write it (no self, no annotations)."""
    params = list(inspect.signature(function).parameters.values())
    if "." in function.__qualname__:  # a method: leave out self
        params = params[1:]
    parts, star = [], False
    for p in params:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return ", ".join(parts)


def _hookspecs():
    return {n: f for n, f in vars(hookspecs).items() if hasattr(f, "interplay_spec")}


def _contract_members():
    """(class, member, how it must be written in the docs) for every public member of the base classes."""
    for class_name in contracts.__all__:
        cls = getattr(contracts, class_name)
        if not inspect.isclass(cls) or cls.__module__ != contracts.__name__:
            continue
        for member, value in vars(cls).items():
            if (member.startswith("_") and member != "__init__") or member == "model_config":
                continue
            if member == "__init__" and getattr(cls, "_is_protocol", False):
                continue  # typing.Protocol's own (Inbox, RegisterChatCommand)
            if (
                cls is not contracts.Plugin
                and member in vars(contracts.Plugin)
                and not inspect.isfunction(value)
            ):
                continue  # `kind` set by each base class: documented once, on Plugin
            if inspect.isfunction(value):
                yield class_name, member, f"`{class_name}.{member}({_params(value)})`"
            elif isinstance(value, enum.Enum) or (isinstance(cls, enum.EnumMeta) and member.isupper()):
                yield class_name, member, f"`{class_name}.{member}`"
            elif not callable(value) or isinstance(value, property) or inspect.isclass(value):
                yield class_name, member, f"`{class_name}.{member}`"


def test_every_hook_is_documented_with_its_parameters():
    docs = DOCS.read_text()
    specs = _hookspecs()
    assert len(specs) >= 5
    for name, function in specs.items():
        heading = f"### `{name}({_params(function)})`"
        assert heading in docs, f"docs/plugins.md lacks {heading}"


def test_the_docs_list_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(register_\w+)\(", DOCS.read_text(), flags=re.M))
    assert documented == set(_hookspecs())


def test_every_base_class_member_is_documented():
    docs = DOCS.read_text()
    members = list(_contract_members())
    assert {c for c, _, _ in members} >= {"Plugin", "Channel", "Analyzer", "Skill", "Generator", "Inbox"}
    missing = [written for _, _, written in members if written not in docs]
    assert not missing, f"docs/plugins.md does not document: {missing}"


def test_a_new_hook_would_be_caught(monkeypatch):
    def register_stores(register, config):
        """Register storage backends."""

    register_stores.interplay_spec = {}  # what pluggy's hookspec marker sets
    monkeypatch.setattr(hookspecs, "register_stores", register_stores, raising=False)
    assert "### `register_stores(register, config)`" not in DOCS.read_text()
    assert "register_stores" in _hookspecs()
