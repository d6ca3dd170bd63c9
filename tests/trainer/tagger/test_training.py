"""Training a tiny tagger (alone and joint), exporting it, and the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from interplay.trainer.tagger.tiny import train_tiny_tagger

    return train_tiny_tagger(tmp_path_factory.mktemp("tagger"))


def test_training_steps_lower_the_loss_and_learn_the_toy_slots(exported: dict[str, Any]):
    history = exported["history"]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert exported["steps"] == len(history) * math.ceil(exported["data"]["train"] / 16)  # batch size 16
    assert exported["test"]["entities"]["micro"]["f1"] > 0.8
    assert set(exported["test"]["entities"]["per_type"]) == {"artist", "city", "time"}
    assert (
        exported["test"]["snips_tagger_only"]["pairs"] == 4
    )  # weather/city, weather/time, music/artist+time


def test_export_matches_pytorch_and_writes_a_manifest_with_the_tag_set(exported: dict[str, Any]):
    from interplay.plugins.nlu.manifest import read_manifest

    model_dir = Path(exported["export"]["model_dir"])
    manifest = read_manifest(model_dir)
    assert manifest.task == "token-classification" and manifest.kind == "entities"
    assert manifest.labels == exported["tags"] and manifest.labels[0] == "O"
    assert manifest.precision == "int8"
    fp32 = manifest.parity.fp32  # type: ignore[union-attr]
    assert fp32["max_abs_logit_diff"] < 1e-3 and fp32["span_agreement"] == 1.0
    assert manifest.parity.label_agreement >= 0.95  # type: ignore[union-attr]
    scores = exported["export"]["onnx_scores"]
    assert scores["fp32"]["entity_micro_f1"] == pytest.approx(exported["test"]["entities"]["micro"]["f1"])
    assert abs(scores["int8"]["entity_micro_f1"] - scores["fp32"]["entity_micro_f1"]) < 0.05


def test_runtime_tagger_finds_entities_in_new_text(exported: dict[str, Any]):
    from interplay.plugins.entities.tagger import OnnxTokenTagger

    tagger = OnnxTokenTagger(Path(exported["export"]["model_dir"]), device="cpu")
    (tagged,) = tagger.predict(["will it rain in berlin tomorrow ?"])
    found = {(e["label"], e["text"]) for e in tagged.entities()}
    assert found == {("city", "berlin"), ("time", "tomorrow")}
    assert all(0 < e["confidence"] <= 1 for e in tagged.entities())


def test_report_files(exported: dict[str, Any]):
    run = Path(exported["export"]["model_dir"]).parent
    report = (run / "report.md").read_text()
    assert "## Entities" in report and "| city |" in report and "## Export" in report
    assert json.loads((run / "metrics.json").read_text())["tags"] == exported["tags"]
    assert (run / "history.png").stat().st_size > 1000


def test_joint_model_is_compared_with_separate_models(tmp_path: Path):
    from interplay.trainer.tagger.tiny import train_tiny_tagger

    metrics = train_tiny_tagger(tmp_path, joint=True, compare=True, export=False, rows=96, epochs=3)
    assert metrics["test"]["intent_accuracy"] > 0.9  # the toy intents differ by their words
    assert "snips" in metrics["test"] and metrics["test"]["snips"]["intent_source"] == "predicted"
    comparison = metrics["comparison"]
    assert set(comparison) == {"separate", "joint"}
    assert (
        comparison["separate"]["intent_classifier"]["accuracy"] == comparison["separate"]["intent_accuracy"]
    )
    assert comparison["joint"]["mean_slot_f1"] == metrics["test"]["snips"]["mean_slot_f1"]
    assert "Joint model vs separate models" in (tmp_path / "run" / "report.md").read_text()


def test_cli_trains_with_shots_per_intent(tmp_path: Path):
    from interplay.trainer.cli import train
    from interplay.trainer.tagger.tiny import build_tiny_tagger_base, toy_rows, write_jsonl

    base = build_tiny_tagger_base(tmp_path / "base")
    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(200))
    result = CliRunner().invoke(
        train,
        [
            "tagger",
            "--train",
            str(data),
            "--base",
            str(base),
            "--out",
            str(tmp_path / "run"),
            "--shots-per-intent",
            "20",
            "--epochs",
            "2",
            "--no-export",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "entity micro-F1" in result.output and "mean per-slot F1" in result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["data"]["train"] == 40 and metrics["shots_per_intent"] == 20


def test_bad_data_is_reported_in_one_line(tmp_path: Path):
    from interplay.trainer.cli import train

    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "hi", "entities": [{"start": 0, "end": 9, "label": "x"}]}\n')
    result = CliRunner().invoke(train, ["tagger", "--train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert "outside the text" in str(result.exception)


def test_seeded_runs_repeat(tmp_path: Path):
    from interplay.trainer.tagger.tiny import train_tiny_tagger

    a = train_tiny_tagger(tmp_path / "a", export=False, rows=64, epochs=1)
    b = train_tiny_tagger(tmp_path / "b", export=False, rows=64, epochs=1)
    assert np.isclose(a["history"][0]["train_loss"], b["history"][0]["train_loss"])
