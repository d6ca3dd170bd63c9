"""How quiet the machine was while a benchmark ran: load averages and other processes' CPU use.

A figure taken while other work shared the cores is not an idle figure, and must say so. Two
signals, recorded for the whole run and for each backend:

- the 1-minute load average before and after (the rule the project uses everywhere: above half
  the cores, the run is "under load");
- the CPU time the rest of the machine used while the measured process tree ran (from
  /proc/stat minus our own children's CPU time), in cores. The load average includes our own
  threads, so "after" alone cannot tell our work from others'; the CPU split can. Runs where
  other processes used more than a quarter of the cores are marked under load too.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOAD_LIMIT_SHARE = 0.5  # load average above half the cores: under load
OTHERS_LIMIT_SHARE = 0.25  # other processes using more than a quarter of the cores: under load
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _busy_seconds() -> float | None:
    """Seconds of CPU the whole machine spent busy (all modes but idle and iowait), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - guest) / _TICK


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Conditions:
    """Start before a measured section, `finish()` after it; the result goes into the JSON."""

    load_before: list[float] = field(default_factory=load_average)
    _busy: float | None = field(default_factory=_busy_seconds)
    _own: float = field(default_factory=_own_seconds)
    _wall: float = field(default_factory=time.monotonic)

    def finish(self) -> dict[str, Any]:
        wall = max(time.monotonic() - self._wall, 1e-9)
        load_after = load_average()
        busy = _busy_seconds()
        n = cpus()
        others = None
        if busy is not None and self._busy is not None:
            others = max(0.0, (busy - self._busy) - (_own_seconds() - self._own)) / wall
        return judge(self.load_before, load_after, others, n)


def judge(load_before: list[float], load_after: list[float], others_cores: float | None,
          n_cpus: int) -> dict[str, Any]:
    """The recorded conditions and the verdict; pure, so the rule itself is tested."""
    reasons = []
    if load_before[0] > LOAD_LIMIT_SHARE * n_cpus:
        reasons.append(f"load average {load_before[0]:.2f} before the run > {LOAD_LIMIT_SHARE * n_cpus:g}")
    if others_cores is not None and others_cores > OTHERS_LIMIT_SHARE * n_cpus:
        reasons.append(f"other processes used {others_cores:.2f} cores during the run "
                       f"> {OTHERS_LIMIT_SHARE * n_cpus:g}")
    return {
        "cpus": n_cpus,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "other_processes_cores": None if others_cores is None else round(others_cores, 3),
        "under_load": bool(reasons),
        "why_under_load": reasons,
    }


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A run is under load when any of its measured parts was."""
    return {"under_load": any(p.get("under_load") for p in parts),
            "why_under_load": [r for p in parts for r in p.get("why_under_load", [])]}

