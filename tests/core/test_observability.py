"""/metrics, /healthz and /readyz served by a real bot, read back over HTTP."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp
import pytest
from interplay.core import InterplayError
from interplay.core.observability import NULL_OBSERVER
from interplay.core.store import MemoryStore
from interplay.testing import run_bot
from prometheus_client.parser import text_string_to_metric_families

from . import fakes

OBSERVED = {"observability": {"enabled": True, "port": 0}}


def _bot(**kw):
    return run_bot(fakes, installed=False, config={**OBSERVED, **kw.pop("config", {})}, **kw)


async def _get(bot, path: str) -> tuple[int, str]:
    port = bot.bot.server.port
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, await resp.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_count_messages_stages_errors_tokens_and_models():
    settings = {"length": {"fail_on": "explode"}}
    async with _bot(analyzers=["length", "intent"], generator="recording", settings=settings) as bot:
        for text in ("hello", "how are you", "explode"):
            await bot.say(text)
        await bot.say("/help")
        status, text = await _get(bot, "/metrics")
    assert status == 200
    m = _samples(text)
    assert m[("interplay_messages_received_total", (("channel", "fake"), ("outcome", "accepted")))] == 4
    assert m[("interplay_messages_sent_total", (("channel", "fake"), ("source", "generator")))] == 3
    assert m[("interplay_messages_sent_total", (("channel", "fake"), ("source", "command")))] == 1
    for stage in ("analyze", "skills", "first_token", "generate", "total"):
        assert m[("interplay_stage_seconds_count", (("stage", stage),))] == 3, stage
    assert m[("interplay_plugin_errors_total", (("plugin", "length"),))] == 1
    assert m[("interplay_generated_tokens_total", (("generator", "recording"),))] == 6  # two deltas each
    assert m[("interplay_generation_tokens_per_second", (("generator", "recording"),))] > 0
    assert m[("interplay_bus_pending", ())] == 0
    assert m[("interplay_messages_processed_total", ())] == 4
    info = (("kind", "generator"), ("plugin", "recording"), ("version", "rec-1"))
    assert m[("interplay_model_info", info)] == 1
    assert m[("interplay_plugin_up", (("plugin", "length"),))] == 1


async def test_queue_depth_is_read_at_scrape_time():
    async with _bot(generator="recording", settings={"recording": {"hang_on": "wait"}}) as bot:
        await bot.channel.submit(bot.channel.message("wait", conversation="a"))
        await bot.channel.submit(bot.channel.message("queued", conversation="a"))
        await bot.channel.submit(bot.channel.message("wait", conversation="b"))
        m = _samples((await _get(bot, "/metrics"))[1])
        assert m[("interplay_bus_pending", ())] == 3
        assert m[("interplay_bus_conversations", ())] == 2
        bot.bot.bus.cancel("a")
        bot.bot.bus.cancel("b")


async def test_healthz_and_readyz_when_everything_runs():
    async with _bot(generator="recording") as bot:
        assert await _get(bot, "/healthz") == (200, '{"status": "alive"}')
        status, body = await _get(bot, "/readyz")
    assert status == 200, body
    assert '"store": "ok"' in body and '"channel:fake": "running"' in body
    assert '"generator:recording": "running"' in body


async def test_readyz_is_503_and_says_why_when_the_generator_failed():
    async with _bot(generator="recording") as bot:
        assert (await _get(bot, "/readyz"))[0] == 200
        bot.bot.status["recording"] = "failed: model file missing"  # as a failed hot swap leaves it
        status, body = await _get(bot, "/readyz")
    assert status == 503
    assert "model file missing" in body and '"ready": false' in body


async def test_a_generator_that_cannot_start_stops_the_start_and_frees_the_health_port():
    with pytest.raises(RuntimeError, match="model file missing"):
        async with _bot(generator="broken-start"):
            pass


class FlakyStore(MemoryStore):
    """A store whose reads can be made to fail, like a database that went away."""

    broken = False

    async def history(self, conversation_id, limit):
        if self.broken:
            raise OSError("database is locked")
        return await super().history(conversation_id, limit)


async def test_readyz_is_503_when_the_store_fails():
    store = FlakyStore()
    async with _bot(generator="recording", store=store) as bot:
        assert (await _get(bot, "/readyz"))[0] == 200
        store.broken = True
        status, body = await _get(bot, "/readyz")
    assert status == 503
    assert "database is locked" in body


async def test_a_taken_port_is_one_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InterplayError, match=rf"127.0.0.1:{port}.*\[observability\] port"):
            async with run_bot(config={"observability": {"enabled": True, "port": port}}):
                pass


async def test_metrics_are_off_by_default_and_cost_a_no_op_observer():
    async with run_bot(installed=False) as bot:
        assert bot.bot.server is None
        assert bot.bot.pipeline.observer is NULL_OBSERVER


def test_importing_the_core_does_not_import_prometheus_or_aiohttp():
    code = (
        "import sys, interplay.core, interplay.core.app;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prometheus_client', 'aiohttp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_readyz_probes_the_sqlite_file_not_a_cached_answer(tmp_path):
    from interplay.core.store import SQLiteStore

    store = SQLiteStore(tmp_path / "store.sqlite3")
    async with _bot(generator="recording", store=store) as bot:
        assert (await _get(bot, "/readyz"))[0] == 200
        assert (await _get(bot, "/readyz"))[0] == 200  # a second probe (the first one's answer is cached)
        (tmp_path / "store.sqlite3").unlink()  # the volume went away under the running bot
        status, body = await _get(bot, "/readyz")
    assert status == 503 and "replaced or deleted" in body


async def test_a_message_is_marked_replying_only_once_its_first_delta_goes_out():
    from interplay.core.store import Status

    store = MemoryStore()
    async with _bot(generator="recording", settings={"recording": {"hang_on": "wait"}}, store=store) as bot:
        message = bot.channel.message("wait", conversation="a")
        await bot.channel.submit(message)
        await asyncio.sleep(0.3)  # the generator is inside its prefill, nothing sent yet
        assert store.status[message.id] == Status.RECEIVED  # a crash now: answered after the restart
        reply = await bot.say("go on", conversation="b")
        assert store.status[reply.reply.message_id] == Status.DONE
        bot.bot.bus.cancel("a")
