"""Benchmarks mark runs taken under load; the rule and the measurement behind it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_load_above_half_the_cores_is_under_load() -> None:
    conditions = load("conditions")
    assert not conditions.judge([0.9, 1.0, 1.0], [1.9, 1.0, 1.0], 0.1, 2)["under_load"]
    busy = conditions.judge([1.3, 1.0, 1.0], [1.9, 1.0, 1.0], 0.1, 2)
    assert busy["under_load"] and "load average 1.30" in busy["why_under_load"][0]
    crowded = conditions.judge([0.2, 0.2, 0.2], [2.0, 1.0, 1.0], 0.8, 2)
    assert crowded["under_load"] and "other processes used 0.80 cores" in crowded["why_under_load"][0]
    assert conditions.combine([busy, {"under_load": False, "why_under_load": []}])["under_load"]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc/stat")
def test_another_process_burning_cpu_is_counted_as_others() -> None:
    conditions = load("conditions")
    watch = conditions.Conditions()
    spin = "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass"
    burner = subprocess.Popen([sys.executable, "-c", spin])
    time.sleep(1.6)
    measured = watch.finish()  # before the burner is reaped, so its CPU is not ours
    burner.wait()
    assert measured["other_processes_cores"] > 0.3
    assert measured["load_average_before"] and measured["load_average_after"]


def test_the_generate_table_says_under_load(capsys: pytest.CaptureFixture[str]) -> None:
    generate = load("generate")
    row = {"ttft_p50_ms": 100.0, "ttft_p95_ms": 120.0, "decode_tok_s_per_stream": 40.0,
           "aggregate_tok_s": 40.0, "requests": 4}
    busy = load("conditions").judge([1.5, 1.0, 1.0], [2.0, 1.0, 1.0], 0.9, 2)
    report = {"backends": {"onnx-int8": {"levels": {"1": row}, "peak_rss_mib": 500.0, "conditions": busy}},
              "summary": {}, "conditions": busy}
    generate.print_table(report)
    out = capsys.readouterr().out
    assert "UNDER LOAD" in out.splitlines()[2] and "not idle figures" in out
