"""Load through the fake server: every message answered exactly once, in order per chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from interplay.plugins.telegram.testing.loadtest import run_load


async def test_50_chats_x_10_messages(tmp_path: Path) -> None:
    result = await run_load(50, 10, workdir=tmp_path, timeout=120)
    assert result.answered_once_in_order, result.problems
    assert result.messages == 500


@pytest.mark.slow
async def test_200_chats_x_20_messages(tmp_path: Path) -> None:
    result = await run_load(200, 20, workdir=tmp_path, timeout=600)
    assert result.answered_once_in_order, result.problems
    assert result.messages == 4000


@pytest.mark.slow
async def test_200_chats_x_20_messages_by_webhook(tmp_path: Path) -> None:
    result = await run_load(200, 20, mode="webhook", workdir=tmp_path, timeout=600)
    assert result.answered_once_in_order, result.problems
