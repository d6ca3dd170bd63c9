"""`interplay new-plugin` writes packages whose own tests pass through their entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.core import InterplayError
from interplay.core.cli import cli
from interplay.core.scaffold import names_for, render

KINDS = ("analyzer", "skill", "channel", "generator")


def _install_metadata(site: Path, name: str) -> None:
    """What `pip install -e .` leaves behind for discovery: a dist-info with the entry point."""
    values = names_for(name, "analyzer")
    info = site / f"{values['module']}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {values['dist']}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[interplay]\n{name} = {values['module']}\n")


def test_each_kind_passes_its_own_tests_through_its_entry_point(tmp_path):
    site, runs = tmp_path / "site", {}
    for kind in KINDS:  # the four test runs go in parallel: each is a fresh interpreter
        name, target = f"my-{kind}", tmp_path / f"my-{kind}"
        result = CliRunner().invoke(cli, ["new-plugin", name, "--kind", kind, "--directory", str(target)])
        assert result.exit_code == 0, result.output
        assert f"cd {target} && pip install -e . && pytest" in result.output
        _install_metadata(site, name)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(target)])}
        runs[kind] = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=target,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for kind, run in runs.items():
        out, _ = run.communicate(timeout=180)
        assert run.returncode == 0, f"{kind}:\n{out}"
        assert "2 passed" in out, f"{kind}:\n{out}"


def test_generated_code_is_lint_clean(tmp_path):
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment")
    for kind in KINDS:
        name = f"a-fairly-long-plugin-name-for-{kind}"
        target = tmp_path / name
        for relative, content in render(name, kind).items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(content)
        check = subprocess.run(
            [str(ruff), "check", "--no-cache", "--select", "E,F,W,I,B,UP,RUF", "."],
            cwd=target,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout
        fmt = subprocess.run(
            [str(ruff), "format", "--check", "."], cwd=target, capture_output=True, text=True
        )
        assert fmt.returncode == 0, fmt.stdout


def test_pyproject_registers_the_entry_point_and_the_names_agree():
    files = render("weather-bot", "skill")
    assert (
        '[project.entry-points.interplay]\nweather-bot = "interplay_weather_bot"' in files["pyproject.toml"]
    )
    assert 'name = "interplay-weather-bot"' in files["pyproject.toml"]
    assert 'name = "weather-bot"' in files["interplay_weather_bot.py"]
    assert "class WeatherBotSkill(Skill)" in files["interplay_weather_bot.py"]
    assert "tests/test_weather_bot.py" in files


@pytest.mark.parametrize("name", ["Demo", "1demo", "de mo", "demo!", "x" * 41, ""])
def test_bad_names_are_refused(name):
    with pytest.raises(InterplayError, match="must start with a letter"):
        names_for(name, "analyzer")


def test_an_existing_directory_is_not_overwritten(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["new-plugin", "demo", "--directory", str(tmp_path / "demo")])
    assert result.exit_code == 1 and "already exists" in result.output
    assert (tmp_path / "demo" / "keep.txt").read_text() == "mine"
