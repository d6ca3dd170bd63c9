"""README's "Metrics and health" and "Doctor" sections name only what the code really exposes."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from interplay.core.config import LimitsSettings, ObservabilitySettings
from interplay.testing import run_bot
from prometheus_client.parser import text_string_to_metric_families

from . import fakes

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


async def test_every_metric_in_the_readme_is_served_and_every_served_metric_is_in_the_readme():
    config = {"observability": {"enabled": True, "port": 0}}
    settings = {"length": {"fail_on": "x"}}
    async with run_bot(fakes, installed=False, analyzers=["length"], config=config, settings=settings) as bot:
        await bot.say("x")
        port = bot.bot.server.port
        async with aiohttp.ClientSession() as http:
            text = await (await http.get(f"http://127.0.0.1:{port}/metrics")).text()
    served = {f.name for f in text_string_to_metric_families(text) if not f.name.endswith("_created")}
    served = {name + "_total" if f"{name}_total" in text else name for name in served}
    documented = set(re.findall(r"`(interplay_[a-z_]+)`", _section("Metrics and health")))
    assert documented == served


def test_the_documented_defaults_are_the_real_ones():
    section = _section("Metrics and health")
    obs = ObservabilitySettings()
    assert f'host = "{obs.host}"' in section and f"port = {obs.port}" in section and not obs.enabled
    limits = LimitsSettings()
    assert f"`[limits] max_message_chars` | `{limits.max_message_chars}`" in README
    assert f"`[limits] max_request_bytes` | `{limits.max_request_bytes}`" in README
    channels = str(limits.unlimited_channels).replace("'", '"')
    rate = f"`{limits.messages_per_minute:g}`, `{limits.burst}`, `{channels}`"
    assert rate in README


def test_the_doctor_example_has_the_shape_doctor_prints():
    block = _section("Doctor").split("```\n$ interplay doctor\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert all(re.match(r"(ok  |warn|FAIL)  \S", line) for line in lines[: lines.index("")])
    assert "problem(s) to fix" in lines[-1]  # tests/core/test_readme_doctor.py compares it with a real run
