"""Messages/s through the Redis Streams bus with 1, 2 and 4 worker processes, vs the in-process bus.

An in-process ingress (the fake channel from interplay.testing) drives C conversations in a
closed loop (each sends its next message when the previous reply is back) through a
redis-server this script starts, to `interplay worker` processes running the echo generator
and two analyzers. The baseline is the in-process bus (one process, memory store) with the
same plugins and the same load, measured in the same run.

Scenarios: "noop" (two analyzers that return at once: the bus's own cost), "cpu" (two
analyzers that each burn --cpu-ms of CPU per message: a stand-in for NLU inference), and
"nlu" (the real intent and sentiment analyzers) when their model directories are prepared.
Besides messages/s it reports CPU ms per message for the front process (the in-process bot, or
the ingress), the worker processes and redis-server: on a machine that others load, that is the
number that carries over. Prints a table and writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from interplay.core import Analyzer, Annotation, Message, PluginSettings, hookimpl
from interplay.core.config import InterplayConfig, load_config
from interplay.core.plugins import load_registry
from interplay.core.runner import run
from interplay.core.store import MemoryStore
from interplay.testing import FakeChannel, run_bot

RESULTS = Path(__file__).parent / "results" / "scale.json"
WORKER_COUNTS = (1, 2, 4)


class SpinSettings(PluginSettings):
    cpu_ms: float = 0.0  # CPU burnt per message, to stand in for model inference


class SpinA(Analyzer):
    name = "spin_a"
    Settings = SpinSettings

    async def analyze(self, message: Message) -> Annotation:
        until = time.perf_counter() + self.settings.cpu_ms / 1000  # type: ignore[attr-defined]
        while time.perf_counter() < until:
            pass
        return Annotation(self.name, "x")


class SpinB(SpinA):
    name = "spin_b"


bench_plugin = SimpleNamespace(
    register_analyzers=hookimpl(lambda register: (register(SpinA), register(SpinB)))
)
fake_plugin = SimpleNamespace(register_channels=hookimpl(lambda register: register(FakeChannel)))


def nlu_ready(models_dir: Path) -> bool:
    """True when the intent and sentiment analyzers have prepared model directories."""
    try:
        import interplay.plugins.nlu  # noqa: F401
    except ImportError:
        return False
    return all((models_dir / kind / "manifest.json").is_file() for kind in ("intent", "sentiment"))


def scenario_config(tmp: Path, url: str, analyzers: list[str], cpu_ms: float) -> dict[str, Any]:
    return {
        "interplay": {"data_dir": str(tmp), "log_level": "WARNING"},
        "pipeline": {"channels": ["fake"], "analyzers": analyzers, "generator": "echo"},
        "bus": {"backend": "redis"},
        "store": {"backend": "redis"},
        # lease_ttl well above the event-loop stalls of processes starting on busy cores
        "redis": {"url": url, "partitions": 16, "lease_ttl": 5.0},
        "plugins": {"spin_a": {"cpu_ms": cpu_ms}, "spin_b": {"cpu_ms": cpu_ms}},
    }


def write_toml(data: dict[str, Any], path: Path) -> Path:
    lines: list[str] = []
    for table, items in data.items():
        tables = items.items() if table == "plugins" else [(None, items)]
        for name, settings in tables:
            lines.append(f"[plugins.{name}]" if name else f"[{table}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- processes ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server with the AOF fsynced every second (the usual production setting)."""
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def start_worker(config_path: Path, name: str, log_dir: Path) -> subprocess.Popen[bytes]:
    with open(log_dir / f"{name}.log", "ab") as log:
        cmd = [sys.executable, __file__, "--worker", str(config_path), name]
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def worker_main(config_path: str, name: str) -> None:
    """What each worker process runs: `interplay worker`, plus this script's analyzers."""
    from interplay.core.assembly import build_bot

    config = load_config(config_path)
    registry = load_registry(config, {"bench": bench_plugin})
    run(build_bot(config, registry, role="worker", name=name).run_forever())


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- load -----------------------------------------------------------------------------------
async def drive(channel: FakeChannel, conversations: int, per: int, tag: str) -> tuple[float, list[float]]:
    """Closed loop: each conversation sends its next message once the previous reply is back."""
    latencies: list[float] = []

    async def talk(c: int) -> None:
        for i in range(per):
            started = time.perf_counter()
            reply = await asyncio.wait_for(
                await channel.submit(channel.message(f"{tag} {i} of {c}", f"{tag}-{c}", user=f"p{c}")), 120
            )
            assert reply.text == f"{tag} {i} of {c}", reply.text
            latencies.append(time.perf_counter() - started)
        channel.sent.clear()

    started = time.perf_counter()
    await asyncio.gather(*(talk(c) for c in range(conversations)))
    return time.perf_counter() - started, latencies


def row(scenario: str, pipeline: str, workers: int, elapsed: float, lat: list[float]) -> dict[str, Any]:
    lat = sorted(lat)
    return {
        "scenario": scenario,
        "pipeline": pipeline,
        "workers": workers,
        "messages": len(lat),
        "msgs_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p95_ms": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1),
    }


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def redis_cpu(client: Any) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class CpuMeter:
    """CPU ms per message, per kind of process: comparable even on a machine others are loading."""

    def __init__(self, client: Any = None, workers: list[subprocess.Popen[bytes]] | None = None) -> None:
        self.client, self.workers = client, workers or []

    async def read(self) -> tuple[float, float, float]:
        redis = await redis_cpu(self.client) if self.client is not None else 0.0
        return time.process_time(), sum(process_cpu(p.pid) for p in self.workers), redis

    async def __aenter__(self) -> CpuMeter:
        self.start = await self.read()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.end = await self.read()

    def per_message(self, messages: int) -> dict[str, float]:
        names = ("front_cpu_ms", "worker_cpu_ms", "redis_cpu_ms")
        return {
            n: round((e - s) * 1000 / messages, 2)
            for n, s, e in zip(names, self.start, self.end, strict=True)
        }


async def measure_in_process(data: dict[str, Any], scenario: str, load: tuple[int, int]) -> dict[str, Any]:
    settings = data["plugins"]
    analyzers = data["pipeline"]["analyzers"]
    async with run_bot(bench_plugin, analyzers=analyzers, settings=settings, store=MemoryStore()) as bot:
        assert bot.channel is not None
        await drive(bot.channel, 4, 5, "warm")
        async with CpuMeter() as cpu:
            elapsed, lat = await drive(bot.channel, *load, scenario)
    return row(scenario, "in-process", 1, elapsed, lat) | cpu.per_message(len(lat))


async def wait_for_owners(store: Any, names: set[str], timeout: float = 120.0) -> None:
    keys = store.keys
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        owners = {await store.client.get(keys.lease(p)) for p in range(keys.partitions)}
        if owners == names:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"workers {sorted(names)} did not share the partitions within {timeout}s")


async def measure_redis(
    data: dict[str, Any], scenario: str, load: tuple[int, int], tmp: Path
) -> list[dict[str, Any]]:
    from interplay.core.assembly import build_bot

    config = InterplayConfig.model_validate({**data, "source": "bench"})
    worker_config = write_toml(
        {**data, "pipeline": {**data["pipeline"], "channels": []}}, tmp / f"{scenario}.toml"
    )
    registry = load_registry(config, {"fake": fake_plugin, "bench": bench_plugin})
    ingress = build_bot(config, registry, role="ingress", name=f"bench-{scenario}")
    procs: list[subprocess.Popen[bytes]] = []
    rows = []
    await ingress.start()
    try:
        channel = ingress.channels["fake"]
        assert isinstance(channel, FakeChannel)
        for count in WORKER_COUNTS:
            while len(procs) < count:
                procs.append(start_worker(worker_config, f"{scenario}-w{len(procs)}", tmp))
            await wait_for_owners(ingress.store, {f"{scenario}-w{i}" for i in range(count)})
            await drive(channel, 8, 5, f"warm{count}")
            async with CpuMeter(ingress.store.client, procs) as cpu:
                elapsed, lat = await drive(channel, *load, f"{scenario}{count}")
            rows.append(row(scenario, "redis", count, elapsed, lat) | cpu.per_message(len(lat)))
            print(f"  {scenario}: {count} worker(s) {rows[-1]['msgs_per_s']} msgs/s", file=sys.stderr)
    finally:
        await ingress.stop()
        stop_all(procs)
    return rows


# -- report ---------------------------------------------------------------------------------
def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'scenario':<9}{'pipeline':<12}{'workers':>8}{'msgs':>7}{'msgs/s':>9}", end="")
    print(f"{'p50 ms':>9}{'p95 ms':>9}{'vs in-proc':>11}   CPU ms/msg: front  workers  redis")
    for r in rows:
        print(
            f"{r['scenario']:<9}{r['pipeline']:<12}{r['workers']:>8}{r['messages']:>7}{r['msgs_per_s']:>9}"
            f"{r['p50_ms']:>9}{r['p95_ms']:>9}{r['vs_in_process']:>11}"
            f"{r['front_cpu_ms']:>19}{r['worker_cpu_ms']:>9}{r['redis_cpu_ms']:>7}"
        )


def environment(redis_url: str) -> dict[str, Any]:
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "redis_server": next((v.split("=")[1] for v in version if v.startswith("v=")), "?"),
        "note": "2 cores shared with other engineers' training jobs: absolute numbers are noisy, "
        "and more than 2 worker processes cannot add CPU",
    }


async def bench(args: argparse.Namespace, tmp: Path, url: str) -> list[dict[str, Any]]:
    load = (16, 10) if args.quick else (64, 25)
    scenarios = [("noop", ["spin_a", "spin_b"], 0.0), ("cpu", ["spin_a", "spin_b"], args.cpu_ms)]
    models_dir = load_config(None).models_dir
    if nlu_ready(models_dir):
        scenarios.append(("nlu", ["intent", "sentiment"], 0.0))
    else:
        print(
            f"  no prepared intent/sentiment models in {models_dir}: skipping the nlu scenario",
            file=sys.stderr,
        )
    rows: list[dict[str, Any]] = []
    for scenario, analyzers, cpu_ms in scenarios:
        data = scenario_config(tmp, url, analyzers, cpu_ms)
        base = await measure_in_process(data, scenario, load)
        base["vs_in_process"] = 1.0
        rows.append(base)
        for r in await measure_redis(data, scenario, load, tmp):
            r["vs_in_process"] = round(r["msgs_per_s"] / base["msgs_per_s"], 2)
            rows.append(r)
    return rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="16 conversations x 10 messages (default 64 x 25)"
    )
    parser.add_argument(
        "--cpu-ms", type=float, default=1.0, help="CPU per analyzer per message in the cpu scenario"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="interplay-bench-") as tmp_name:
        tmp = Path(tmp_name)
        redis, url = start_redis(tmp)
        os.environ["INTERPLAY_BENCH_REDIS_URL"] = url
        try:
            env = environment(url)
            rows = run(bench(args, tmp, "$env:INTERPLAY_BENCH_REDIS_URL"))
        finally:
            redis.terminate()
            redis.wait(10)
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {**env, "quick": args.quick, "cpu_ms": args.cpu_ms, "rows": rows}
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
