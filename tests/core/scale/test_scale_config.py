"""Config and command line for scale-out: keys, errors people see, redis kept out of the core."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import pytest
from click.testing import CliRunner
from interplay.core import ConfigError, InterplayError
from interplay.core.cli import cli
from interplay.core.config import load_config
from interplay.core.scale.keys import DEFAULT_URL, partition_of, redis_url, shown_url


def test_defaults_and_a_typo_in_the_redis_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[bus]\nbackend = "redis"\n[redis]\npartitons = 8\n')
    with pytest.raises(ConfigError, match=r"unknown key 'redis\.partitons' \(did you mean 'partitions'\?\)"):
        load_config(path)
    path.write_text('[bus]\nbackend = "redis"\n[store]\nbackend = "redis"\n')
    config = load_config(path)
    assert config.redis.partitions == 16 and config.redis.lease_ttl == 10.0
    assert redis_url(config) == DEFAULT_URL == "redis://127.0.0.1:6379/0"


def test_the_url_is_a_secret_reference_never_inline(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('[redis]\nurl = "redis://:hunter2@db:6379/0"\n')
    with pytest.raises(ConfigError, match="secrets are never written inline"):
        load_config(path)
    path.write_text('[redis]\nurl = "$env:MY_REDIS"\n')
    monkeypatch.setenv("MY_REDIS", "redis://:hunter2@db:6379/0")
    assert redis_url(load_config(path)) == "redis://:hunter2@db:6379/0"
    assert shown_url("redis://:hunter2@db:6379/0") == "redis://***@db:6379/0"
    monkeypatch.delenv("MY_REDIS")
    with pytest.raises(InterplayError, match="export MY_REDIS"):
        redis_url(load_config(path))


def test_partitions_do_not_depend_on_the_process():
    """Python's hash() is salted per process; two processes must agree on a conversation's stream."""
    code = "from interplay.core.scale.keys import partition_of; print(partition_of('chat-42', 16))"
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env
            ).stdout.strip()
        )
    assert outs == {str(partition_of("chat-42", 16))} == {str(zlib.crc32(b"chat-42") % 16)}


def test_redis_stays_out_of_a_memory_backed_bot():
    code = (
        "import sys\n"
        "from interplay.core.app import Bot, open_store\n"
        "from interplay.core.cli import cli\n"
        "from interplay.core.config import InterplayConfig\n"
        "open_store(InterplayConfig.model_validate({'store': {'backend': 'memory'}}))\n"
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('interplay.core.scale')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("toml", "args", "says"),
    [
        ("", ["worker"], 'interplay worker needs [bus] backend = "redis"'),
        ('[bus]\nbackend = "redis"\n', ["worker"], 'set [store] backend = "redis" too'),
        ("", ["run", "--role", "ingress"], 'needs [bus] backend = "redis"'),
    ],
)
def test_scale_commands_explain_what_config_they_need(tmp_path, toml, args, says):
    path = tmp_path / "config.toml"
    path.write_text(toml + "[pipeline]\nchannels = []\n")
    result = CliRunner().invoke(cli, ["--config", str(path), *args])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and says in result.output
