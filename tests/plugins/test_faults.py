"""The fault campaign, small: ~200 fuzzed webhook, Events and chat requests with a store outage in each round.

bench/faults.py runs the same with 10,000 requests (bench/results/faults.json).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faults.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faults_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_200_fuzzed_requests_with_store_outages_each_good_one_answered_once() -> None:
    bench = load_bench()
    result = await bench.campaign(requests=200, rounds=2, outage=0.3, seed=3)
    parts = result["parts"]
    assert all(part["good_messages"] > 5 for part in parts.values()), parts
    refused = sum(part["sent"].get("forged", 0) + part["sent"].get("malformed", 0) for part in parts.values())
    assert refused > 10
    assert result["store_refusals_during_outages"] > 0  # the outage happened while requests came
    assert bench.verdict(result, max_growth=16.0) == [], result  # 200 requests: too few for the heap figure
