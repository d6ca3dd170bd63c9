"""Admission limits (size, per-user rate) and admin-only commands, through a running bot."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from interplay.core import ConfigError, Submitted
from interplay.core.config import LimitsSettings, load_config
from interplay.core.limits import MAX_TRACKED_SENDERS, TokenBucket
from interplay.testing import run_bot

from . import fakes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(per_minute=6, burst=3, clock=clock)
    assert [bucket.take(("c", "u")) is None for _ in range(4)] == [True, True, True, False]
    assert bucket.take(("c", "other")) is None  # per user
    clock.now = 20.0  # 6/min: two tokens back
    assert [bucket.take(("c", "u")) is None for _ in range(3)] == [True, True, False]


def test_token_bucket_memory_stays_bounded_with_many_senders():
    clock = Clock()
    bucket = TokenBucket(per_minute=60, burst=1, clock=clock)
    for i in range(3 * MAX_TRACKED_SENDERS):
        clock.now += 0.001
        bucket.take(("c", f"user{i}"))
    assert len(bucket) <= MAX_TRACKED_SENDERS


async def _submit(bot, text: str, user: str = "u1") -> Submitted:
    return await bot.bot.bus.submit(bot.channel.message(text, user=user))


async def _settle(bot) -> None:
    await asyncio.sleep(0.05)
    await bot.bot.bus.drain(5)


async def test_a_fast_sender_gets_one_polite_reply_and_others_are_unaffected():
    limits = {"messages_per_minute": 1, "burst": 2}
    async with run_bot(fakes, installed=False, generator="recording", config={"limits": limits}) as bot:
        outcomes = [await _submit(bot, f"m{i}") for i in range(4)]
        other = await _submit(bot, "hello", user="u2")
        await _settle(bot)
        sent = [(r.reply.message_id if r.reply else None, r.source, r.text) for r in bot.channel.sent]
    assert outcomes == [Submitted.ACCEPTED, Submitted.ACCEPTED, Submitted.LIMITED, Submitted.LIMITED]
    assert other is Submitted.ACCEPTED
    limited = [text for _, source, text in sent if source == "limited"]
    assert limited == [LimitsSettings().rate_limited_reply]  # once, not once per message
    assert sum(source.startswith("generator") for _, source, _ in sent) == 3


async def test_rate_limits_are_on_by_default_per_person_and_the_console_is_exempt():
    # a [limits] table, even empty, makes run_bot keep the defaults; the cap on one person's queue
    # is on by default too (test_bus.py)
    config: dict = {"bus": {"sender_backlog": 0}, "limits": {}}
    defaults = LimitsSettings()
    assert defaults.messages_per_minute > 0 and "console" in defaults.unlimited_channels
    async with run_bot(fakes, installed=False, generator="recording", config=config) as bot:
        outcomes = [await _submit(bot, f"m{i}") for i in range(50)]
        others = [await _submit(bot, "hello", user=f"other{i}") for i in range(5)]
        await _settle(bot)
    assert outcomes == [Submitted.ACCEPTED] * defaults.burst + [Submitted.LIMITED] * (50 - defaults.burst)
    assert others == [Submitted.ACCEPTED] * 5  # one flooding person costs the others nothing
    config |= {"limits": {"unlimited_channels": ["fake"]}}
    async with run_bot(fakes, installed=False, generator="recording", config=config) as bot:
        outcomes = [await _submit(bot, f"m{i}") for i in range(50)]
        await _settle(bot)
    assert set(outcomes) == {Submitted.ACCEPTED}


async def test_an_oversized_message_is_refused_without_reaching_the_generator():
    fakes.SEEN.clear()
    config = {"limits": {"max_message_chars": 10}}
    async with run_bot(fakes, installed=False, generator="recording", config=config) as bot:
        assert await _submit(bot, "x" * 11, user="u9") is Submitted.LIMITED
        reply = await bot.say("short")
        await _settle(bot)
        texts = [r.text for r in bot.channel.sent]
    assert LimitsSettings().too_long_reply in texts
    assert reply.text.startswith("reply to short")
    assert fakes.SEEN["c1"] == ["short"]


async def test_status_is_for_admins_only():
    config = {"interplay": {"admins": ["boss"]}}
    async with run_bot(installed=False, config=config) as bot:
        refused = await bot.say("/status", user="guest")
        allowed = await bot.say("/status", user="boss")
        guest_help = await bot.say("/help", user="guest")
        boss_help = await bot.say("/help", user="boss")
    assert refused.text == "That command is for the bot's administrators."
    assert allowed.text.startswith("pending 1, conversations 1, processed 1")  # its own message
    assert "fake running" in allowed.text and "errors: none" in allowed.text
    assert "/status" not in guest_help.text
    assert "/status" in boss_help.text


async def test_admins_are_named_per_channel():
    config = {"interplay": {"admins": ["telegram:boss", "fake:chief"]}}
    async with run_bot(installed=False, config=config) as bot:
        other_channels_boss = await bot.say("/status", user="boss")  # "boss" on telegram, not here
        chief = await bot.say("/status", user="chief")
    assert other_channels_boss.text == "That command is for the bot's administrators."
    assert chief.text.startswith("pending")


def test_a_bare_admin_id_with_several_channels_is_a_config_error_that_says_what_to_write(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[interplay]\nadmins = ["telegram:42", "boss"]\n[pipeline]\nchannels = ["console", "telegram"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: [interplay] admins: 'boss' names no configured channel")
    assert "write each admin as \"channel:user\", for example 'telegram:boss'" in message
    assert "42" not in message  # "telegram:42" names its channel
    path.write_text(
        '[interplay]\nadmins = ["telegram:42", "console:boss"]\n'
        '[pipeline]\nchannels = ["console", "telegram"]\n'
    )
    assert load_config(path).admin_people() == {"telegram:42", "console:boss"}


async def test_a_bare_admin_id_is_of_the_one_channel_with_a_warning(caplog: pytest.LogCaptureFixture):
    config = {"interplay": {"admins": ["boss"]}}
    with caplog.at_level(logging.WARNING, logger="interplay"):
        async with run_bot(installed=False, config=config) as bot:
            assert bot.bot.pipeline.commands.admins == {"fake:boss"}
            assert (await bot.say("/status", user="boss")).text.startswith("pending")
    warned = [r.getMessage() for r in caplog.records if "admins" in r.getMessage()]
    assert warned == [
        "[interplay] admins: 'boss' is a bare user id, read as 'fake:boss'; write it as \"channel:user\" "
        "(a second channel would make it a config error)"
    ]
