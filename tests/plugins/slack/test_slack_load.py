"""Load: 500 events over 50 channels, a fifth of them retried, each answered exactly once, in order."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "slack_load.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slack_load_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_500_events_over_50_channels_each_answered_once(slack_env: None) -> None:
    bench = load_bench()
    row = await bench.run_slack(events=500, channels=50, retry_share=0.2, api_delay=0.0, store_kind="memory")
    assert row["deliveries"] > 500  # retries were really sent
    assert row["answered_once"] == 500 and row["answered_twice_or_more"] == 0 and row["unanswered"] == 0
    assert row["in_order"]
    assert row["statuses"] == {200: row["deliveries"]}
    assert row["ack_max_ms"] < 3000
    assert bench.passed(row)


@pytest.mark.slow
async def test_load_on_sqlite_with_a_slow_web_api(slack_env: None) -> None:
    bench = load_bench()
    row = await bench.run_slack(events=500, channels=50, retry_share=0.3, api_delay=0.1, store_kind="sqlite")
    assert bench.passed(row), row
