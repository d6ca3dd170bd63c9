"""Optional dependencies: which `interplay[...]` extra brings which module, and the error when one is missing.

`pip install interplay` is the core, the console and echo plugins and the test harness. Everything
else is an extra (pyproject.toml); a plugin imports its extra's modules inside `requires_extra(...)`
so that a missing one says what to install instead of a bare ModuleNotFoundError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import PluginError

# extra -> the top-level modules it installs (import names, not distribution names)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "telegram": ("telegram", "httpx", "sniffio"),
    "slack": ("slack_sdk",),
    "redis": ("redis", "hiredis"),
    "openai": ("openai",),
    "onnx": ("onnxruntime", "tokenizers", "jinja2", "numpy"),
    "train": (
        "torch", "transformers", "optimum", "onnx", "accelerate", "gguf", "peft", "sklearn", "tqdm", "numpy",
        "matplotlib", "seqeval", "onnx_ir",
    ),
}
# the extra a built-in plugin's imports come from, where a module belongs to several (numpy)
PLUGIN_EXTRAS = {"trainer": "train"}


class MissingExtra(PluginError):
    """A plugin or backend needs an optional dependency that is not installed."""

    def __init__(self, extra: str, module: str, what: str = "") -> None:
        self.extra, self.module = extra, module
        hint = " (or 'interplay[gpu]' for CUDA)" if extra == "onnx" else ""
        who = f"{what} needs" if what else "needs"
        super().__init__(
            f"{who} the Python module {module!r}, which is not installed: "
            f"pip install 'interplay[{extra}]'{hint}"
        )


def extra_of(exc: ImportError, expected: str = "") -> tuple[str, str] | None:
    """(extra, module) for an ImportError of an extra's module (`expected` first); None otherwise."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    owners = [e for e, mods in EXTRA_MODULES.items() if name in mods]
    if not owners:
        return None
    return (expected if expected in owners else owners[0]), name


@contextmanager
def requires_extra(extra: str, what: str = "") -> Iterator[None]:
    """Turn the ModuleNotFoundError of an extra's module into MissingExtra naming the pip command."""
    try:
        yield
    except ModuleNotFoundError as exc:
        found = extra_of(exc, extra)
        if found is None:
            raise
        raise MissingExtra(*found, what) from None
