"""The token head: token states vs PyTorch, the head's graph vs its numpy reference, export and serving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from interplay.core import ModelError
from interplay.plugins.nlu import OnnxTextClassifier
from interplay.trainer.classifier.embedding_encoder import ENCODER_FILE, prepare_encoder
from interplay.trainer.classifier.embedding_graph import load
from interplay.trainer.classifier.embedding_run import HeadConfig, train_embedding_classifier
from interplay.trainer.classifier.run import RunSpec
from interplay.trainer.classifier.token_head import (
    TokenEmbedder,
    add_token_head,
    fit_token_head,
    layer_outputs,
)

TEXTS = ["hello there", "rain today", "bye bye now please", "what is the forecast", "hi", "sunny"]
LABELS = np.array([0, 1, 0, 1, 0, 1])


@pytest.fixture(scope="module")
def fp32_encoder(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_encoder(str(tiny_base), tmp_path_factory.mktemp("enc"), quantize=False)


def test_token_states_match_pytorch_hidden_states(tiny_base: Path, fp32_encoder: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(tiny_base), AutoModel.from_pretrained(tiny_base).eval()
    embedder = TokenEmbedder(fp32_encoder, 64, count=2, threads=1)
    assert embedder.layers[-1] == "last_hidden_state" and len(embedder.layers) == 2
    (batch,) = embedder.embed(TEXTS, batch_size=len(TEXTS), by_length=False)
    encoded = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded, output_hidden_states=True).hidden_states
    expected = torch.cat([hidden[-2], hidden[-1]], -1).numpy()
    mask = encoded["attention_mask"].numpy().astype(bool)
    np.testing.assert_array_equal(batch.mask.astype(bool), mask)
    # fp16 storage: about three significant digits
    np.testing.assert_allclose(batch.states.astype(np.float32)[mask], expected[mask], atol=2e-2, rtol=1e-2)


def test_layer_outputs_refuses_more_layers_than_the_encoder_has(fp32_encoder: Path) -> None:
    model = load(fp32_encoder / ENCODER_FILE)
    assert len(layer_outputs(model, 1)) == 1
    with pytest.raises(ModelError, match="has 2 layers"):
        layer_outputs(model, 3)


def test_head_graph_computes_the_fitted_head(fp32_encoder: Path, tmp_path: Path) -> None:
    import onnxruntime as ort
    from interplay.plugins.nlu import load_tokenizer
    from interplay.trainer.classifier.embedding_graph import save

    embedder = TokenEmbedder(fp32_encoder, 64, count=2, threads=1)
    batches = embedder.embed(TEXTS, batch_size=4)
    head = fit_token_head(batches, LABELS, 2, embedder.layers, width=8, epochs=30, lr=1e-2, threads=1)
    path = save(add_token_head(load(fp32_encoder / ENCODER_FILE), head), tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits"]
    assert not any(n.name.startswith("pool_") for n in load(path).graph.initializer)  # pruned
    encodings = load_tokenizer(fp32_encoder, 64).encode_batch(TEXTS)
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    wanted = {i.name for i in session.get_inputs()}
    served = session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
    (batch,) = embedder.embed(TEXTS, batch_size=len(TEXTS), by_length=False)
    np.testing.assert_allclose(served, head.logits(batch), atol=2e-2)
    assert (served.argmax(1) == LABELS).mean() >= 5 / 6  # it learned the six texts


def test_fit_token_head_needs_every_label(fp32_encoder: Path) -> None:
    embedder = TokenEmbedder(fp32_encoder, 64, count=1, threads=1)
    with pytest.raises(ValueError, match="cover 1 of 2"):
        fit_token_head(embedder.embed(TEXTS[:2]), np.zeros(2, dtype=np.int64), 2, embedder.layers)


def test_token_head_model_is_served_by_the_runtime(
    tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path
) -> None:
    from interplay.core.model_dir import read_manifest
    from interplay.trainer.classifier.data import read_examples

    spec = RunSpec(
        train=toy_files["train"],
        validation=toy_files["validation"],
        test=toy_files["test"],
        base=str(tiny_base),
        out=tmp_path / "run",
        oos_label=None,
    )
    cfg = HeadConfig(threads=1, head="tokens", token_width=32, token_epochs=60, token_lr=1e-2)
    metrics = train_embedding_classifier(spec, cfg)
    manifest = read_manifest(tmp_path / "run" / "model")
    assert manifest.method == "embedding-head" and manifest.training["head"] == "tokens"
    assert manifest.parity is not None and manifest.parity.passed
    assert metrics["test"]["accuracy"] > 0.5  # four toy intents that differ by words: chance is 0.25
    assert len(metrics["recipe"]["validation_accuracy_per_epoch"]) == 60
    rows = read_examples(toy_files["test"])
    clf = OnnxTextClassifier(tmp_path / "run" / "model", device="cpu")
    top = [p.top[0][0] for p in clf.predict([e.text for e in rows])]
    served = np.mean([t == e.label for t, e in zip(top, rows, strict=True)])
    assert abs(served - metrics["test"]["accuracy"]) <= 0.1  # int8: near-ties may flip
    assert "token head" in (tmp_path / "run" / "report.md").read_text()
