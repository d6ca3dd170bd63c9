"""`interplay train nlu --from-logs` for real, with a tiny encoder: export -> GAN-BERT -> gate -> promote.

The served intent model is a tiny BERT trained on toy intents, either on the true labels (a strong
incumbent, right on nearly every golden example: a candidate trained for one step regresses) or on
shifted labels (a broken incumbent that confidently mislabels the golden examples: the candidate,
trained with the default model's short recipe, beats it). The unlabeled data is the
`unlabeled.csv` of a real `interplay data export` of logged conversations.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from interplay.core import Message, Reply
from interplay.core import model_registry as registry
from interplay.core.cli import cli
from interplay.core.store import SQLiteStore
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.run import RunSpec, train_classifier
from interplay.trainer.classifier.tiny import TOY_INTENTS, build_tiny_bert, toy_examples, write_csv

INTENTS = sorted(TOY_INTENTS)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny encoder, toy files, a strong and a broken served model, and logged utterances."""
    import torch

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("nlu-from-logs")
    base = build_tiny_bert(d / "tiny-bert")
    train = toy_examples(20, seed=1)
    files = {
        "base": base,
        "train": write_csv(d / "train.csv", train),
        "golden": write_csv(d / "golden.csv", toy_examples(10, seed=3)),
        "validation": write_csv(d / "validation.csv", toy_examples(5, seed=2)),
    }
    shift = {label: INTENTS[(i + 1) % len(INTENTS)] for i, label in enumerate(INTENTS)}
    shifted = {split: write_csv(d / f"shifted-{split}.csv", [(text, shift[label]) for text, label in rows])
               for split, rows in (("train", train), ("validation", toy_examples(5, seed=2)))}
    # long enough that the strong model is right on nearly every golden example whatever the seed
    fast = TrainConfig(epochs=20, lr=3e-3, batch_size=16, patience=0, device="cpu", progress=False)
    for name, labels, validation in (("strong", files["train"], files["validation"]),
                                     ("broken", shifted["train"], shifted["validation"])):
        files[name] = d / name / "intent"
        train_classifier(RunSpec(train=labels, validation=validation, test=files["golden"],
                                 base=str(base), out=d / name / "run", model_dir=files[name],
                                 quantize=False), fast)
    files["logs"] = d / "logs.sqlite3"
    asyncio.run(log_conversations(files["logs"], [text for text, _ in toy_examples(15, seed=4)]))
    return files


async def log_conversations(path: Path, texts: list[str]) -> None:
    """What people wrote to the bot (and what it answered), as the store keeps it."""
    store = SQLiteStore(path)
    await store.open()
    for i, text in enumerate(texts):
        message = Message("test", f"conv{i // 3}", f"u{i % 4}", text, time=1000.0 + i)
        await store.record_inbound(message)
        await store.record_reply(message, Reply(message.id, message.conversation_id, "test", "ok",
                                                "generator:onnx", time=message.time + 0.5))
    await store.close()


def setup(tmp_path: Path, world: dict[str, Path], served: str | None, *, export: bool = True) -> Path:
    """A data dir with the logs (exported by `interplay data export`) and a models dir serving `served`."""
    shutil.copy(world["logs"], tmp_path / "interplay.sqlite3")
    if served:
        shutil.copytree(world[served], tmp_path / "models" / "intent")
    config = tmp_path / "config.toml"
    config.write_text(f'[interplay]\ndata_dir = "{tmp_path}"\nmodels_dir = "{tmp_path / "models"}"\n')
    if export:
        result = CliRunner().invoke(cli, ["--config", str(config), "data", "export"])
        assert result.exit_code == 0, result.output
    return config


def train_nlu(config: Path, world: dict[str, Path], *extra: str) -> Any:
    args = ["--config", str(config), "train", "nlu", "--from-logs", "--kind", "intent",
            "--train", str(world["train"]), "--golden", str(world["golden"]), "--base", str(world["base"]),
            *extra]
    return CliRunner().invoke(cli, args)


def candidate(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The one version directory written, and its gate report."""
    versions = [v for v in (tmp_path / "models" / "intent" / "versions").iterdir()
                if not v.name.startswith(".")]  # .<id>-run: the training run's reports
    assert len(versions) == 1, versions
    assert (versions[0] / "manifest.json").is_file() and (versions[0] / "gate.md").is_file()
    return versions[0], json.loads((versions[0] / "gate.json").read_text())


def test_a_candidate_that_beats_the_served_model_is_promoted(tmp_path: Path, world: dict[str, Path]) -> None:
    config = setup(tmp_path, world, "broken")
    result = train_nlu(config, world)
    assert result.exit_code == 0, result.output
    version, gate = candidate(tmp_path)
    assert f"promoted: {version}" in result.output and "not promoted" not in result.output
    assert gate["passed"] and gate["kind"] == "intent" and gate["golden"] == str(world["golden"])
    # the short default recipe leaves a tiny encoder near chance; the broken model is below it
    assert gate["candidate"]["accuracy"] > gate["incumbent"]["accuracy"]
    root = tmp_path / "models" / "intent"
    assert registry.current(root)["id"] == version.name and registry.current_path(root) == version
    # GAN-BERT's unlabeled data was the export's unlabeled.csv: the logged utterances
    metrics = json.loads((version.parent / f".{version.name}-run" / "metrics.json").read_text())
    unlabeled = tmp_path / "datasets" / "v0001" / "unlabeled.csv"
    assert metrics["files"]["unlabeled"] == str(unlabeled) and metrics["config"]["gan"] is True
    assert metrics["data"]["unlabeled"] == len(unlabeled.read_text().splitlines()) - 1 > 40


def test_the_candidate_fine_tunes_on_all_the_embedded_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the first run's 20 rows per intent: that recipe loses every gate to the embedding-head default."""
    from interplay.trainer.classifier import run
    from interplay.trainer.loop.nlu import NluJob, train_candidate

    seen: dict[str, Any] = {}
    monkeypatch.setattr(run, "train_classifier", lambda spec, cfg: seen.update(spec=spec, cfg=cfg))
    train_candidate(None, NluJob("intent", tmp_path / "unlabeled.csv"), tmp_path / "v1")
    spec, cfg = seen["spec"], seen["cfg"]
    assert spec.subsample_per_class is None and spec.train.name == "train.csv.xz" and cfg.gan
    assert spec.unlabeled == tmp_path / "unlabeled.csv" and spec.min_in_scope == 0.94


def test_no_promote_writes_the_candidate_and_its_report_only(tmp_path: Path, world: dict[str, Path]) -> None:
    config = setup(tmp_path, world, "broken")
    result = train_nlu(config, world, "--no-promote")
    assert result.exit_code == 0, result.output
    version, gate = candidate(tmp_path)
    assert gate["passed"] and f"not promoted: {version}" in result.output
    assert registry.current(tmp_path / "models" / "intent") is None


def test_a_regression_is_not_promoted(tmp_path: Path, world: dict[str, Path]) -> None:
    config = setup(tmp_path, world, "strong")
    result = train_nlu(config, world, "--max-steps", "1")  # one step: far below the served model
    assert result.exit_code == 0, result.output
    version, gate = candidate(tmp_path)
    assert not gate["passed"] and gate["thresholds"] == {"max_accuracy_drop": 0.0}
    assert gate["incumbent"]["accuracy"] >= 0.8
    assert gate["candidate"]["accuracy"] < gate["incumbent"]["accuracy"] - 0.3
    assert "regressed" in result.output and f"not promoted: {version}" in result.output
    assert registry.current(tmp_path / "models" / "intent") is None
    # a drop the operator accepts passes the same kind of candidate
    result = train_nlu(config, world, "--max-steps", "1", "--max-accuracy-drop", "1")
    assert result.exit_code == 0 and "promoted: " in result.output and "not promoted" not in result.output


def test_clear_errors_before_any_training(tmp_path: Path, world: dict[str, Path]) -> None:
    config = setup(tmp_path, world, "strong", export=False)
    result = train_nlu(config, world)
    assert result.exit_code == 1
    assert "error: no dataset yet: run `interplay data export` first" in result.output
    empty = tmp_path / "not-an-export"
    empty.mkdir()
    result = train_nlu(config, world, "--dataset", str(empty))
    assert result.exit_code == 1
    assert f"error: {empty} has no unlabeled.csv: pass --dataset a directory written by `interplay data " \
           "export`" in result.output
    result = CliRunner().invoke(cli, ["--config", str(config), "train", "nlu", "--kind", "intent"])
    assert result.exit_code == 2 and "only --from-logs is supported" in result.output
    (tmp_path / "unserved").mkdir()
    result = train_nlu(setup(tmp_path / "unserved", world, None), world)
    assert result.exit_code == 1
    assert f"error: no served intent model in {tmp_path / 'unserved' / 'models' / 'intent'}" in result.output
    assert not (tmp_path / "models" / "intent" / "versions").exists()
    assert not (tmp_path / "unserved" / "models" / "intent" / "versions").exists()
