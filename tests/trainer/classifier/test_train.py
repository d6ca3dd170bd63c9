"""Training on the toy set with a tiny BERT: plain fine-tuning, GAN-BERT, reports, folds."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import torch
from interplay.trainer.classifier.config import TrainConfig
from interplay.trainer.classifier.encoder import load_classifier
from interplay.trainer.classifier.gan import FAKE_LABEL, GanTrainer, strip_fake_class
from interplay.trainer.classifier.run import RunSpec, check_labels, load_splits, train_classifier


def test_fine_tuning_learns_the_toy_intents_and_writes_reports(
    spec: RunSpec, fast_config: TrainConfig
) -> None:
    metrics = train_classifier(spec, fast_config)
    assert metrics["test"]["accuracy"] >= 0.9
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]
    for name in ("report.md", "metrics.json", "history.png", "confusion.png", "checkpoint/config.json"):
        assert (spec.out / name).is_file(), name
    saved = json.loads((spec.out / "metrics.json").read_text())
    assert set(saved["test"]["per_class"]) == {"goodbye", "greet", "oos", "weather"}
    assert {"precision", "recall", "f1", "support"} <= set(saved["test"]["per_class"]["greet"])
    assert "## Out of scope" in (spec.out / "report.md").read_text()
    # with an oos class the run reports both ways of rejecting, and a threshold chosen on validation
    assert {"oos_class", "threshold_method", "threshold"} <= set(saved["oos"])


def test_max_steps_caps_training(spec: RunSpec, fast_config: TrainConfig) -> None:
    metrics = train_classifier(spec, replace(fast_config, max_steps=3))
    assert metrics["steps"] == 3


def test_early_stopping_keeps_the_best_epoch(spec: RunSpec, fast_config: TrainConfig) -> None:
    # lr 0 never improves after epoch 1, so patience 2 stops after epoch 3 and restores epoch 1
    metrics = train_classifier(spec, replace(fast_config, lr=0.0, patience=2))
    assert len(metrics["history"]) == 3
    assert metrics["best_epoch"] == 1


def test_gan_bert_learns_and_exports_k_classes(spec: RunSpec, fast_config: TrainConfig) -> None:
    spec = replace(spec, label_fraction=0.5)
    metrics = train_classifier(spec, replace(fast_config, gan=True))
    assert metrics["data"]["unlabeled"] == 80
    assert metrics["config"]["gan"] is True
    assert metrics["test"]["accuracy"] >= 0.6  # chance is 0.25
    saved = json.loads((spec.out / "checkpoint" / "config.json").read_text())
    assert sorted(saved["id2label"].values()) == ["goodbye", "greet", "oos", "weather"]


def test_gan_trainer_updates_the_generator(spec: RunSpec) -> None:
    s = load_splits(replace(spec, shots_per_class=5), seed=0)
    labels = check_labels(s, spec)
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=16, device="cpu", progress=False, gan=True)
    model, _ = load_classifier(str(spec.base), [*labels, FAKE_LABEL])
    trainer = GanTrainer(model, cfg, pad_id=0)
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    from interplay.trainer.classifier.run import encode_split

    tok = load_classifier(str(spec.base), labels)[1]
    batches = trainer.epoch_batches(
        encode_split(tok, s.labeled, labels, spec, cfg), encode_split(tok, s.unlabeled, labels, spec, cfg)
    )
    labeled_in_pool = sum(1 for source, rows in batches for i in rows if source.labels[i] >= 0)
    assert labeled_in_pool == 20 * 2  # 20 labeled, repeated log2(140 / 20) = 2 times
    loss, _, _ = trainer.step(*batches[0])
    assert np.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))


def test_strip_fake_class_keeps_the_real_logits(tiny_base) -> None:
    model, _ = load_classifier(str(tiny_base), ["a", "b", FAKE_LABEL])
    model.eval()
    ids = torch.tensor([[2, 10, 11, 3]])
    with torch.no_grad():
        full = model(input_ids=ids).logits
        strip_fake_class(model, 2, ["a", "b"])
        cut = model(input_ids=ids).logits
    assert cut.shape == (1, 2)
    torch.testing.assert_close(cut, full[:, :2])
    assert model.config.id2label == {0: "a", 1: "b"}


def test_plain_fit_without_oos_class_rejects_by_threshold_only(
    spec: RunSpec, fast_config: TrainConfig
) -> None:
    spec = replace(spec, oos_class=False)
    s = load_splits(spec, seed=0)
    assert "oos" not in check_labels(s, spec)
    metrics = train_classifier(spec, fast_config)
    assert "oos_class" not in metrics["oos"]
    assert metrics["oos"]["threshold"] > 0  # the toy oos rows are only rejectable by low confidence


def test_cross_validation_reports_each_fold(spec: RunSpec, fast_config: TrainConfig) -> None:
    metrics = train_classifier(replace(spec, folds=2), replace(fast_config, epochs=2))
    assert [f["fold"] for f in metrics["folds"]] == [1, 2]
    assert 0 <= metrics["accuracy_mean"] <= 1
    assert (spec.out / "metrics.json").is_file()
    assert "| mean ± std |" in (spec.out / "report.md").read_text()


def test_same_seed_same_model_in_one_process(spec: RunSpec, fast_config: TrainConfig, tmp_path) -> None:
    # The head's initial weights are seeded too: a second run in the same process (other RNG state)
    # gives the same losses, not merely the same data order.
    torch.manual_seed(1234)
    first = train_classifier(replace(spec, out=tmp_path / "a"), replace(fast_config, max_steps=4))
    torch.rand(7)  # move the global generator on
    second = train_classifier(replace(spec, out=tmp_path / "b"), replace(fast_config, max_steps=4))
    assert [h["train_loss"] for h in first["history"]] == [h["train_loss"] for h in second["history"]]
