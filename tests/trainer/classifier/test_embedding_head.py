"""The embedding-head model kind: pooling graph vs PyTorch, the head in the graph, export and serving."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from interplay.plugins.nlu.classifier import OnnxTextClassifier
from interplay.plugins.nlu.manifest import read_manifest
from interplay.trainer.classifier.embedding_encoder import Embedder, prepare_encoder
from interplay.trainer.classifier.embedding_run import HeadConfig, train_embedding_classifier
from interplay.trainer.classifier.linear_head import fit_head
from interplay.trainer.classifier.run import RunSpec

TEXTS = ["hello there", "rain today", "bye bye now please", "what is the forecast", "hi"]


@pytest.fixture(scope="module")
def fp32_encoder(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_encoder(str(tiny_base), tmp_path_factory.mktemp("enc"), quantize=False)


def test_pooling_graph_matches_pytorch_mean_pooling(tiny_base: Path, fp32_encoder: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(tiny_base), AutoModel.from_pretrained(tiny_base).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    got = Embedder(fp32_encoder, 64, threads=1).embed(TEXTS, batch_size=2)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_embeddings_do_not_depend_on_batching_or_duplicates(fp32_encoder: Path) -> None:
    embedder = Embedder(fp32_encoder, 64, threads=1)
    one = np.stack([embedder.embed([t])[0] for t in TEXTS])
    together = embedder.embed([*TEXTS, TEXTS[0]], batch_size=3)
    np.testing.assert_allclose(together[: len(TEXTS)], one, atol=1e-5)
    np.testing.assert_array_equal(together[-1], together[0])


def test_linear_head_folds_the_scaling_and_handles_two_classes() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (50, 4)), rng.normal(3, 1, (50, 4))]) * [1, 10, 100, 0.1]
    y = np.array([0] * 50 + [1] * 50)
    head = fit_head(x, y, 2)
    assert head.weight.shape == (2, 4) and (head.logits(x).argmax(1) == y).mean() > 0.95
    three = np.concatenate([x, rng.normal(-3, 1, (50, 4))])
    head3 = fit_head(three, np.array([0] * 50 + [1] * 50 + [2] * 50), 3)
    assert head3.weight.shape == (3, 4)
    with pytest.raises(ValueError, match="cover 2 of 3"):
        fit_head(x, y, 3)


def test_trained_head_is_served_by_the_runtime(
    tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path
) -> None:
    spec = RunSpec(
        train=toy_files["train"],
        validation=toy_files["validation"],
        test=toy_files["test"],
        base=str(tiny_base),
        out=tmp_path / "run",
        oos_label="oos",
        min_in_scope=0.5,
    )
    metrics = train_embedding_classifier(spec, HeadConfig(threads=1))
    manifest = read_manifest(tmp_path / "run" / "model")
    assert manifest.method == "embedding-head" and manifest.precision == "int8"
    assert manifest.threshold == metrics["oos"]["threshold"] and manifest.oos_label == "oos"
    assert manifest.parity is not None and manifest.parity.passed
    assert manifest.max_length == metrics["recipe"]["max_length"] == 16
    assert metrics["test"]["accuracy"] > 0.5  # the toy intents differ by words; random would be 0.25
    clf = OnnxTextClassifier(tmp_path / "run" / "model", device="cpu")
    from interplay.trainer.classifier.data import read_examples

    rows = read_examples(toy_files["test"])
    top = [p.top[0][0] for p in clf.predict([e.text for e in rows])]
    served = np.mean([t == e.label for t, e in zip(top, rows, strict=True)])
    assert abs(served - metrics["test"]["accuracy"]) <= 0.1  # int8 activations: near-ties may flip
    report = (tmp_path / "run" / "report.md").read_text()
    assert "frozen encoder + linear head" in report and "## Recipe" in report


def test_fp32_head_export_matches_the_fitted_head_exactly(
    tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path
) -> None:
    spec = RunSpec(
        train=toy_files["train"],
        validation=toy_files["validation"],
        test=toy_files["test"],
        base=str(tiny_base),
        out=tmp_path / "run",
        quantize=False,
    )
    metrics = train_embedding_classifier(replace(spec), HeadConfig(threads=1))
    parity = metrics["export"]["parity"]
    assert parity["max_abs_logit_diff"] < 1e-4 and parity["label_agreement"] == 1.0


def test_cli_frozen_trains_an_embedding_head(
    tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from interplay.trainer.classifier.cli import classifier_command

    args = [
        "--train",
        str(toy_files["train"]),
        "--validation",
        str(toy_files["validation"]),
        "--base",
        str(tiny_base),
        "--out",
        str(tmp_path / "run"),
        "--frozen",
        "--no-quantize",
    ]
    result = CliRunner().invoke(classifier_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "validation accuracy" in result.output and "model:" in result.output
    assert read_manifest(tmp_path / "run" / "model").method == "embedding-head"
