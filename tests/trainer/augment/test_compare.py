"""A tiny end-to-end `--compare`, the RunSpec.augment hook and the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from interplay.trainer.augment.cli import augment_command
from interplay.trainer.augment.compare import CompareSpec, run_compare, summarize
from interplay.trainer.augment.pipeline import Models
from interplay.trainer.augment.report import compare_markdown
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.data import read_examples
from interplay.trainer.classifier.run import RunSpec, train_classifier
from interplay.trainer.classifier.tiny import toy_examples, write_csv


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("aug-toy")
    write_csv(d / "train.csv", toy_examples(12, seed=1))
    write_csv(d / "validation.csv", toy_examples(3, seed=2))
    write_csv(d / "test.csv", toy_examples(4, seed=3))
    return d


@pytest.fixture(scope="module")
def tiny_generator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from interplay.trainer.lm.tiny import tiny_llama, tiny_tokenizer

    d = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = tiny_tokenizer()
    tiny_llama(tokenizer).save_pretrained(d)
    tokenizer.save_pretrained(d)
    return d


def toy_spec(toy_dir: Path, tiny_bert: Path, out: Path, augment: Any) -> RunSpec:
    """The toy intents at 3 shots per class, no export, with an augmentation hook."""
    return RunSpec(
        toy_dir / "train.csv",
        out,
        validation=toy_dir / "validation.csv",
        test=toy_dir / "test.csv",
        base=str(tiny_bert),
        export=False,
        shots_per_class=3,
        augment=augment,
    )


def test_tiny_compare_runs_every_arm_and_mode(
    tiny_lm, encoder, tiny_bert, toy_dir, small_cfg, tmp_path
) -> None:
    model, tokenizer = tiny_lm
    train = TrainConfig(epochs=1, max_steps=2, batch_size=8, device="cpu", progress=False, patience=0)
    spec = CompareSpec(
        spec=RunSpec(
            toy_dir / "train.csv",
            tmp_path / "cmp",
            validation=toy_dir / "validation.csv",
            test=toy_dir / "test.csv",
            base=str(tiny_bert),
        ),
        shots=[3],
        seeds=[1],
        augment=replace(small_cfg, filter=True, max_per_label=3),
        train=train,
        gan_train=replace(train, gan=True),
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    results = run_compare(spec, Models(model, tokenizer, encoder))
    runs = results["runs"]
    assert {(r["arm"], r["mode"]) for r in runs} == {
        (a, m) for a in ("none", "lm", "filtered", "adversarial") for m in ("plain", "gan")
    }
    by_arm = {r["arm"]: r["augmented"] for r in runs}
    assert by_arm["none"] == 0 and 0 < by_arm["lm"] <= 3 * 3  # 3 generated labels, cap 3 each
    assert all(0 <= r["in_scope_accuracy"] <= 1 for r in runs)
    assert set(results["summary"]["3"]["arms"]) == {
        f"{a}+{m}" for a, m in {(r["arm"], r["mode"]) for r in runs}
    }
    assert results["timings"]["3_shots_seconds"] > 0
    # the generator is back at its original weights after the arm that updates it
    assert all(v.equal(before[k]) for k, v in model.state_dict().items())
    report = json.loads((tmp_path / "cmp" / "3shot-seed1" / "augmentation.json").read_text())
    assert report["adversarial"]["rounds"][0]["proposed"] == report["filtered"]["rounds"][0]["proposed"]
    assert "| no augmentation | fine-tuning |" in compare_markdown(results)


def test_summary_mean_spread_and_deltas() -> None:
    runs = [
        {"shots": 5, "seed": s, "arm": arm, "mode": "plain", "in_scope_accuracy": acc}
        for s, (arm, acc) in enumerate([("none", 0.5), ("none", 0.7), ("lm", 0.6), ("lm", 0.6)])
    ] + [{"shots": 5, "seed": 0, "arm": "adversarial", "mode": "gan", "in_scope_accuracy": 0.7}]
    summary = summarize(runs, ("none", "lm", "adversarial"), ("plain", "gan"))["5"]
    assert summary["arms"]["none+plain"]["mean"] == pytest.approx(0.6)
    assert summary["arms"]["none+plain"]["std"] == pytest.approx(0.1)
    assert summary["deltas"]["adversarial+gan - lm+plain"] == pytest.approx(10.0)
    assert "adversarial+plain - lm+plain" not in summary["deltas"]


def test_augment_hook_adds_training_rows_only(tiny_bert, toy_dir, tmp_path) -> None:
    extra = write_csv(tmp_path / "extra.csv", [("hello hey you", "greet"), ("rain rain today", "weather")])
    spec = toy_spec(toy_dir, tiny_bert, tmp_path / "run", augment=lambda s, seed: read_examples(extra))
    cfg = TrainConfig(epochs=1, max_steps=1, device="cpu", progress=False)
    metrics = train_classifier(spec, cfg)
    assert metrics["data"]["augmented"] == 2 and metrics["data"]["labeled"] == 4 * 3


def test_cli_augment_writes_rows_and_report(tiny_generator_dir, tiny_bert, toy_dir, tmp_path) -> None:
    out = tmp_path / "aug"
    args = [
        "--train",
        str(toy_dir / "train.csv"),
        "--out",
        str(out),
        "--generator",
        str(tiny_generator_dir),
        "--base",
        str(tiny_bert),
        "--shots-per-class",
        "3",
        "--rounds",
        "1",
        "--per-label",
        "2",
        "--temperatures",
        "1.0",
        "--max-new-tokens",
        "6",
        "--no-filter",
    ]
    result = CliRunner().invoke(augment_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = read_examples(out / "augmented.csv") if (out / "augmented.csv").stat().st_size > 11 else []
    report = json.loads((out / "augment.json").read_text())
    assert report["rounds"][0]["proposed"] == 3 * 2  # greet, weather, goodbye; oos is not generated
    assert len(rows) == report["accepted"] and f"accepted {len(rows)} of 6" in result.output
    assert "| round |" in (out / "augment.md").read_text()


def test_cli_rejects_bad_temperatures(toy_dir, tmp_path) -> None:
    args = [
        "--train",
        str(toy_dir / "train.csv"),
        "--out",
        str(tmp_path),
        "--temperatures",
        "hot",
    ]
    result = CliRunner().invoke(augment_command, args)
    assert result.exit_code == 2 and "comma-separated numbers" in result.output


def test_inline_hook_augments_the_runs_own_split(
    monkeypatch, tiny_lm, encoder, tiny_bert, toy_dir, small_cfg, tmp_path
) -> None:
    from interplay.trainer.augment import hook, pipeline

    model, tokenizer = tiny_lm
    monkeypatch.setattr(pipeline, "build_models", lambda g, e: Models(model, tokenizer, encoder))
    cfg = replace(small_cfg, rounds=1, filter=False, max_per_label=2)
    inline = hook.inline(cfg, None, str(tiny_bert), tmp_path / "run" / "augment")
    spec = toy_spec(toy_dir, tiny_bert, tmp_path / "run", augment=inline)
    metrics = train_classifier(spec, TrainConfig(epochs=1, max_steps=1, device="cpu", progress=False))
    written = read_examples(tmp_path / "run" / "augment" / "augmented.csv")
    assert 0 < metrics["data"]["augmented"] == len(written) <= 3 * 2
    assert {e.label for e in written} <= {"greet", "weather", "goodbye"}


def test_classifier_cli_refuses_both_augment_options(toy_dir, tmp_path) -> None:
    from interplay.trainer.classifier.cli import classifier_command

    args = [
        "--train",
        str(toy_dir / "train.csv"),
        "--out",
        str(tmp_path),
        "--augment",
        "--augmented",
        str(toy_dir / "train.csv"),
    ]
    result = CliRunner().invoke(classifier_command, args)
    assert result.exit_code == 2 and "either --augment or --augmented" in result.output


def test_cli_compare_writes_table_and_json(tiny_generator_dir, tiny_bert, toy_dir, tmp_path) -> None:
    out = tmp_path / "cmp"
    args = [
        "--train",
        str(toy_dir / "train.csv"),
        "--validation",
        str(toy_dir / "validation.csv"),
        "--test",
        str(toy_dir / "test.csv"),
        "--out",
        str(out),
        "--generator",
        str(tiny_generator_dir),
        "--base",
        str(tiny_bert),
        "--compare",
        "--shots",
        "2",
        "--seeds",
        "1",
        "--rounds",
        "1",
        "--per-label",
        "1",
        "--temperatures",
        "1.0",
        "--max-new-tokens",
        "4",
        "--epochs",
        "1",
        "--gan-epochs",
        "1",
        "--max-steps",
        "1",
        "--generator-steps",
        "1",
    ]
    result = CliRunner().invoke(augment_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "compare.json").read_text())
    assert len(data["runs"]) == 8 and data["settings"]["gan"]["gan"] is True
    assert data["settings"]["gan"]["head_lr"] == 2e-3  # the head learns faster than the encoder
    assert "filtered + generator updates | GAN-BERT" in (out / "compare.md").read_text()
