"""Which ONNX Runtime build is installed, and whether its CUDA provider really loads here (or why not).

Asks ONNX Runtime itself (`preload_dlls()`, then a tiny session on the CUDA provider and the error
it logs) instead of guessing library names, so the answer stays right as ORT's CUDA version moves.
The one CUDA probe of the project: doctor, every ONNX plugin and the trainer ask it (once per process).
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from ..errors import ModelError

WHEELS = ("onnxruntime", "onnxruntime-gpu")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class OrtBuild:
    """The installed ONNX Runtime wheel(s)."""

    wheels: dict[str, str]  # distribution -> version, for each ORT wheel installed

    @property
    def both(self) -> bool:
        return len(self.wheels) > 1

    def describe(self) -> str:
        if not self.wheels:
            return "not installed"
        if self.both:
            return "both onnxruntime and onnxruntime-gpu are installed: they share one module, the last wins"
        name, version = next(iter(self.wheels.items()))
        if name == "onnxruntime-gpu":
            return f"CUDA build ({name} {version}, from interplay[gpu]; it runs on the CPU too)"
        return f"CPU build ({name} {version}, from interplay[onnx]; interplay[gpu] is the CUDA build)"


def ort_build() -> OrtBuild:
    """Which ORT distributions are installed (by metadata: importing ORT is not needed)."""
    wheels = {}
    for name in WHEELS:
        try:
            wheels[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return OrtBuild(wheels)


@cache
def cuda_problem() -> str:
    """Why ORT's CUDA provider cannot run here ("" when it can): what ORT itself reports."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return f"onnxruntime cannot be imported ({exc})"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider"
    with _captured_output() as said:
        try:
            if hasattr(ort, "preload_dlls"):
                ort.preload_dlls()  # CUDA and cuDNN from the nvidia-* wheels or the system paths
            from onnxruntime.datasets import get_example

            session = ort.InferenceSession(get_example("sigmoid.onnx"), providers=["CUDAExecutionProvider"])
            loaded = "CUDAExecutionProvider" in session.get_providers()
        except Exception as exc:  # ORT raises for some provider failures instead of falling back
            loaded, failure = False, f"{type(exc).__name__}: {exc}"
        else:
            failure = ""
    if loaded:
        return ""
    return _reason(said.getvalue(), failure, getattr(ort, "__version__", "?"))


def cuda_usable() -> bool:
    """True where ONNX Runtime's CUDA provider loads and runs a model; probed once per process."""
    return cuda_problem() == ""


Device = Literal["auto", "cpu", "cuda"]


def choose_device(device: Device) -> Literal["cpu", "cuda"]:
    """"auto" is CUDA where it can load and the CPU elsewhere; "cuda" where it cannot is a ModelError."""
    if device == "cpu":
        return "cpu"
    if cuda_usable():
        return "cuda"
    if device == "cuda":
        raise ModelError(
            f"device = 'cuda' but ONNX Runtime cannot use CUDA here ({cuda_problem()}): "
            "set device = 'cpu' or 'auto'"
        )
    return "cpu"


def providers_for(device: Device) -> list[str]:
    """ONNX Runtime execution providers for `device` (CUDA asked for only where it loads)."""
    if choose_device(device) == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _reason(log: str, failure: str, version: str) -> str:
    """The one line of ORT's log that says what is missing, plus what this ORT requires."""
    text = _ANSI.sub("", log)
    loaded = re.search(r"Failed to load library \S+ with error: ([^\n]+)", text)
    needs = re.search(r"Require ([^.]*\.\*(?: and [^.]*\.\*)?)", text)
    if loaded:
        why = loaded.group(1).strip()
    elif failure:
        why = failure
    else:
        errors = [line for line in text.splitlines() if "[E:" in line or "error" in line.lower()]
        why = errors[-1].strip() if errors else "the CUDA provider did not load (no error logged)"
    requirement = f" (onnxruntime {version} requires {needs.group(1)})" if needs else ""
    return why + requirement


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """What Python prints to stdout and what native code writes to file descriptor 2, in one buffer."""
    said = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink, contextlib.redirect_stdout(said):
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said.write(sink.read().decode("utf-8", "replace"))
