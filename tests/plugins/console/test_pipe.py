"""`interplay chat` on a pipe: one reply per line, `--jsonl` for scripts, global options after the command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from interplay.core.cli import hoist_global_options
from interplay.plugins.console.channel import escape_line

INTERPLAY = [sys.executable, "-m", "interplay.core"]


def chat(tmp_path, *args: str, text: str = "hello\nhow are you\n") -> subprocess.CompletedProcess[str]:
    config = tmp_path / "bot.toml"
    config.write_text('[pipeline]\ngenerator = "echo"\n[plugins.echo]\nprefix = "line one\\nline two: "\n')
    return subprocess.run(
        [*INTERPLAY, "chat", "--config", str(config), "--memory", *args],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_chat_takes_config_after_the_command_and_keeps_one_reply_per_line(tmp_path):
    done = chat(tmp_path)
    assert done.returncode == 0, done.stderr
    # the prefix comes from bot.toml, so --config after `chat` was read; its newline is escaped
    assert done.stdout.splitlines() == ["line one\\nline two: hello", "line one\\nline two: how are you"]


def test_jsonl_gives_one_object_per_reply_with_the_exact_text(tmp_path):
    done = chat(tmp_path, "--jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["line one\nline two: hello", "line one\nline two: how are you"]
    assert {r["source"] for r in rows} == {"generator:echo"} and rows[0]["model_version"] == "echo-1"


def test_a_chat_command_reply_stays_on_one_line_too(tmp_path):
    done = chat(tmp_path, text="/help\n")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and "/reset" in done.stdout


def test_escaping_is_reversible():
    text = "a\\nb\nc\r"
    assert escape_line(text) == "a\\\\nb\\nc\\r"
    assert "\n" not in escape_line(text)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["chat", "--config", "f.toml", "--debug"], ["--config", "f.toml", "chat", "--debug"]),
        (["chat", "--config=f.toml"], ["--config=f.toml", "chat"]),
        (["--config", "a", "chat", "--log-level", "INFO"], ["--config", "a", "--log-level", "INFO", "chat"]),
        (["models", "prepare", "--config", "f"], ["--config", "f", "models", "prepare"]),
        (["chat", "--", "--config"], ["chat", "--", "--config"]),
    ],
)
def test_global_options_move_before_the_command(argv, expected):
    assert hoist_global_options(argv) == expected
