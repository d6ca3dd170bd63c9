"""doctor asks ONNX Runtime itself whether CUDA loads, and says which ORT build is installed and why."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.core import ort_probe
from interplay.core.cli import cli

ROOT = Path(__file__).resolve().parents[2]
ORT_LOG = (
    "\x1b[1;31m2026-12-02 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] FAIL : "
    "Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: "
    "cannot open shared object file: No such file or directory\n\x1b[m"
    "\x1b[0;93m2026-12-02 [W:onnxruntime:Default, "
    "onnxruntime_pybind_state.cc:1295] Failed to create CUDAExecutionProvider. Require cuDNN 9.* and "
    "CUDA 13.*. Please install all dependencies\x1b[m\n"
)


def _fake_ort(monkeypatch: pytest.MonkeyPatch, *, cuda_loads: bool) -> None:
    """An onnxruntime-gpu that lists CUDA and, like the real one, logs to fd 2 when it cannot load it."""

    class Session:
        def __init__(self, path: str, providers: list[str]) -> None:
            if not cuda_loads:
                os.write(2, ORT_LOG.encode())
            self.providers = providers if cuda_loads else ["CPUExecutionProvider"]

        def get_providers(self) -> list[str]:
            return self.providers

    def preload_dlls() -> None:
        if not cuda_loads:
            print("Failed to load libcublasLt.so.13: cannot open shared object file")

    fake = types.SimpleNamespace(
        __version__="1.31.1",
        get_available_providers=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
        preload_dlls=preload_dlls,
        InferenceSession=Session,
    )
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    monkeypatch.setitem(sys.modules, "onnxruntime.datasets", types.SimpleNamespace(get_example=lambda n: n))
    ort_probe.cuda_problem.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_probe():
    ort_probe.cuda_problem.cache_clear()
    yield
    ort_probe.cuda_problem.cache_clear()


def test_the_reason_is_what_onnx_runtime_logs_with_what_it_requires(monkeypatch, capfd):
    _fake_ort(monkeypatch, cuda_loads=False)
    assert ort_probe.cuda_problem() == (
        "libcublasLt.so.13: cannot open shared object file: No such file or directory "
        "(onnxruntime 1.31.1 requires cuDNN 9.* and CUDA 13.*)"
    )
    out, err = capfd.readouterr()
    assert "Failed" not in out + err  # the provider errors are captured, not printed


def test_cuda_that_loads_is_no_problem(monkeypatch):
    _fake_ort(monkeypatch, cuda_loads=True)
    assert ort_probe.cuda_problem() == ""


def test_no_cuda_library_names_are_hard_coded_in_the_core():
    sources = "".join(p.read_text() for p in (ROOT / "core").rglob("*.py"))
    assert not re.search(r"libcudart\.so|libcudnn\.so|libcublas\.so", sources)


def test_the_build_in_use_is_named_with_the_extra_that_brings_it(monkeypatch):
    versions = {"onnxruntime": "1.32.0"}

    def version(name: str) -> str:
        if name not in versions:
            raise ort_probe.md.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(ort_probe.md, "version", version)
    assert ort_probe.ort_build().describe().startswith("CPU build (onnxruntime 1.32.0, from interplay[onnx]")
    versions = {"onnxruntime-gpu": "1.31.1"}
    assert ort_probe.ort_build().describe().startswith("CUDA build (onnxruntime-gpu 1.31.1, from interpl")
    versions = {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}
    assert ort_probe.ort_build().both


def test_doctor_fails_when_both_builds_share_the_module(monkeypatch, tmp_path):
    monkeypatch.setattr(ort_probe.md, "version", lambda name: "1.31.1")
    from interplay.core import doctor

    monkeypatch.setattr(doctor, "ort_build", ort_probe.ort_build)
    findings = list(doctor.execution_providers())
    assert findings[0].level == "FAIL" and "both onnxruntime and onnxruntime-gpu" in findings[0].detail
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in findings[0].fix


def test_doctor_says_which_build_is_installed(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[interplay]\nmodels_dir = "{tmp_path}"\n')
    out = CliRunner().invoke(cli, ["--config", str(config), "doctor"]).output
    line = next(x for x in out.splitlines() if "onnxruntime build" in x)
    build = ort_probe.ort_build()
    expected = "CUDA build" if "onnxruntime-gpu" in build.wheels else "CPU build"
    assert expected in line and "from interplay[" in line


def test_devices_follow_the_one_probe(monkeypatch):
    from interplay.core import ModelError
    from interplay.core.model_dir import cuda

    monkeypatch.setattr(cuda, "cuda_problem", lambda: "libcudart.so.12: cannot open shared object file")
    assert cuda.choose_device("auto") == "cpu"
    assert cuda.providers_for("auto") == ["CPUExecutionProvider"]
    with pytest.raises(ModelError, match=r"device = 'cuda'.*libcudart\.so\.12.*set device = 'cpu' or 'auto'"):
        cuda.choose_device("cuda")
    monkeypatch.setattr(cuda, "cuda_problem", lambda: "")
    assert cuda.choose_device("auto") == "cuda" and cuda.choose_device("cpu") == "cpu"
    assert cuda.providers_for("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
