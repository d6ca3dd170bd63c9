"""`interplay serve-openai`: a generator behind the OpenAI chat-completions protocol, checked with the
official client and with plain HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import aiohttp
import openai
import pytest

from .conftest import serving
from .test_openai_generator import echo_server


async def test_whole_and_streamed_completions_through_the_official_client():
    server = await echo_server(api_key="serve-key", model="interplay-echo")
    async with serving(server.app) as url:
        client = openai.AsyncOpenAI(base_url=url, api_key="serve-key", max_retries=0)
        try:
            assert [m.id async for m in client.models.list()] == ["interplay-echo"]
            history = [
                {"role": "system", "content": "ignored by the served generator"},
                {"role": "user", "content": "earlier"},
                {"role": "assistant", "content": "reply"},
                {"role": "user", "content": "say this back"},
            ]
            whole = await client.chat.completions.create(model="interplay-echo", messages=history)
            assert whole.choices[0].message.content == "say this back"
            assert whole.choices[0].finish_reason == "stop" and whole.model == "interplay-echo"
            stream = await client.chat.completions.create(
                model="interplay-echo", messages=history, stream=True
            )
            deltas = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
            assert deltas == ["say", " this", " back"]
            with pytest.raises(openai.NotFoundError, match="does not exist"):
                await client.chat.completions.create(model="gpt-x", messages=history)
            with pytest.raises(openai.BadRequestError, match="from the user"):
                await client.chat.completions.create(
                    model="interplay-echo", messages=[{"role": "assistant", "content": "x"}]
                )
        finally:
            await client.close()
        wrong = openai.AsyncOpenAI(base_url=url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            await wrong.models.list()
        await wrong.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_command_serves_the_configured_generator(tmp_path):
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\ngenerator = "echo"\nanalyzers = []\n')
    env = {**os.environ, "SERVE_KEY": "k1", "INTERPLAY_INTERPLAY__DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "interplay.core",
        "--config",
        str(config),
        "serve-openai",
        "--port",
        str(port),
        "--api-key",
        "$env:SERVE_KEY",
    ]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer k1"}
                    ) as r:
                        models = await r.json()
                        break
                except aiohttp.ClientConnectionError:
                    assert process.returncode is None, "serve-openai exited early"
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            assert models["data"][0]["id"] == "echo-1"
            body = {"model": "echo-1", "messages": [{"role": "user", "content": "ping pong"}]}
            async with session.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                json=body,
                headers={"Authorization": "Bearer k1"},
            ) as r:
                assert (await r.json())["choices"][0]["message"]["content"] == "ping pong"
    finally:
        process.terminate()
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, out.decode()
    assert f"at http://127.0.0.1:{port}/v1" in out.decode()
