"""The README's `interplay doctor` sample is what doctor prints for that config (issue #21)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.core import ort_probe
from interplay.core.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SAMPLE = README.split("$ interplay doctor\n", 1)[1].split("```", 1)[0].rstrip("\n").splitlines()
MACHINE = ("python", "model")  # the interpreter's path and the prepared models differ per machine


def _rows(lines: list[str]) -> dict[str, tuple[str, str]]:
    """topic -> (level, detail) for the check lines (two spaces or more between the columns)."""
    rows = {}
    for line in lines:
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        if len(parts) == 3 and parts[0] in ("ok", "warn", "FAIL"):
            rows[parts[1]] = (parts[0], parts[2])
    return rows


def _unversioned(text: str) -> str:
    return re.sub(r"\d+(\.\d+)+\S*", "N", text)


def test_the_readme_doctor_sample_matches_a_real_run(tmp_path, monkeypatch):
    if ort_probe.ort_build().wheels.keys() != {"onnxruntime"}:
        pytest.skip("the sample was taken with the CPU build (`make install`); this venv has another one")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\nchannels = ["slack"]\ngenerator = "onnx"\n')
    done = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert done.exit_code == 1
    real, sample = _rows(done.output.splitlines()), _rows(SAMPLE)
    for topic, (level, detail) in sample.items():
        if topic in MACHINE:
            continue
        assert topic in real, f"README shows a {topic!r} line doctor no longer prints"
        assert real[topic][0] == level, topic
        assert _unversioned(real[topic][1]) == _unversioned(detail), topic
    missing = set(real) - set(sample) - set(MACHINE)
    assert not missing, f"doctor prints lines the README sample lacks: {missing}"
    tail = lambda lines: [x for x in lines if x.startswith(("To fix", "  - ")) or "problem(s)" in x]  # noqa: E731
    assert tail(done.output.splitlines()) == tail(SAMPLE)
