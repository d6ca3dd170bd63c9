"""Every `curl` example in docs/webchat.md runs against a live web chat and does what the text says."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import API_TOKEN, webchat_bot

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "webchat.md").read_text()
CURLS = [b for b in re.findall(r"```sh\n(.*?)```", DOCS, flags=re.S) if "curl " in b]

pytestmark = [
    pytest.mark.usefixtures("webchat_env"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


async def _run(script: str, url: str) -> tuple[int, str]:
    env = {**os.environ, "INTERPLAY_URL": url, "WEBCHAT_API_TOKEN": API_TOKEN}
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_the_curl_examples_run_as_documented():
    assert len(CURLS) == 4, "docs/webchat.md should show send, stream, history and feedback"
    async with webchat_bot() as (bot, channel):
        outputs = []
        for script in CURLS:
            code, out = await _run(script, channel.url)
            assert code == 0, f"{script}\n{out}"
            outputs.append(out)
        send, stream, history, rate = outputs
        assert json.loads(send)["reply"]["text"] == "Where is my parcel?"  # echo
        assert re.findall(r"^event: (\w+)", stream, flags=re.M)[0] == "accepted"
        assert re.findall(r"^event: (\w+)", stream, flags=re.M)[-1] == "reply"
        texts = [t["text"] for t in json.loads(history)["turns"]]
        assert texts == ["Where is my parcel?"] * 2 + ["And when will it come?"] * 2
        assert json.loads(rate)["score"] == 1 and json.loads(rate)["model_version"] == "echo-1"
        (feedback,) = await bot.store.feedback_for()
        assert feedback.user_id == "crm" and feedback.channel == "webchat"
        code, out = await _run(CURLS[0], channel.url)  # the same id again: a duplicate, not a second reply
        assert code == 22, out  # curl -f: the HTTP error (409) makes it fail
