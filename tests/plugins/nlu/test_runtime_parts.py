"""Building blocks of the runtime: the threshold rule, the micro-batcher, the manifest checks."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from interplay.core import ModelError
from interplay.plugins.nlu.batching import MicroBatcher
from interplay.plugins.nlu.classifier import decide, softmax
from interplay.plugins.nlu.manifest import read_manifest

LABELS = ["greet", "oos", "weather"]


def test_decide_under_threshold_is_oos() -> None:
    probs = np.array([0.5, 0.1, 0.4])
    assert decide(probs, LABELS, top_k=3, threshold=0.6, oos_label="oos").label == "oos"
    kept = decide(probs, LABELS, top_k=3, threshold=0.4, oos_label="oos")
    assert kept.label == "greet" and kept.confidence == 0.5 and not kept.below_threshold
    assert decide(probs, LABELS, top_k=3, threshold=None, oos_label="oos").label == "greet"
    fallback = decide(probs, LABELS, top_k=2, threshold=0.6, oos_label="oos")
    assert fallback.below_threshold and fallback.confidence == pytest.approx(0.5)
    assert fallback.top == (("greet", 0.5), ("weather", 0.4))


def test_softmax_is_stable() -> None:
    out = softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]))
    assert np.allclose(out, [[1.0, 0.0], [0.5, 0.5]])


async def test_batcher_runs_off_the_event_loop_and_batches() -> None:
    seen_threads: list[str] = []

    def work(items: list[int]) -> list[int]:
        seen_threads.append(threading.current_thread().name)
        return [i * 2 for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=4, max_wait=0.01)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    assert results == [i * 2 for i in range(10)]
    assert batcher.batch_sizes == [4, 4, 2]
    assert all(name.startswith("interplay-batcher") for name in seen_threads)
    await batcher.close()


async def test_batcher_errors_reach_every_caller_and_close_fails_queued() -> None:
    def boom(items: list[int]) -> list[int]:
        raise ValueError("model exploded")

    batcher: MicroBatcher[int, int] = MicroBatcher(boom)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    await batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(3)


async def test_a_timed_out_caller_does_not_break_the_batch() -> None:
    release = threading.Event()

    def slow(items: list[int]) -> list[int]:
        release.wait(2)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(slow, max_wait=0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(batcher.submit(1), 0.05)
    release.set()
    assert await batcher.submit(2) == 2
    await batcher.close()


def test_manifest_checks(models_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(models_root / "intent", copy)
    assert read_manifest(copy).labels == ["goodbye", "greet", "oos", "weather"]
    with open(copy / "model.onnx", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelError, match="does not match the sha256"):
        read_manifest(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="not a valid manifest"):
        read_manifest(copy)
    with pytest.raises(ModelError, match="run `interplay models prepare`"):
        read_manifest(tmp_path / "empty")


def test_energy_score_is_the_log_sum_exp_of_the_in_scope_logits() -> None:
    from interplay.plugins.nlu.classifier import oos_confidence

    logits = np.array([[2.0, 5.0, 1.0], [-1.0, 0.0, -3.0]])
    energy = oos_confidence(logits, 1, "energy")  # column 1 is "oos": left out
    assert energy[0] == pytest.approx(np.log(np.exp(2.0) + np.exp(1.0)))
    assert energy[1] == pytest.approx(np.log(np.exp(-1.0) + np.exp(-3.0)))
    assert oos_confidence(logits, None, "energy")[0] == pytest.approx(np.log(np.exp(logits[0]).sum()))
    assert oos_confidence(logits, 1, "probability") == pytest.approx(softmax(logits).max(axis=1))
    # huge logits stay finite
    assert np.isfinite(oos_confidence(np.array([[1e4, 0.0, 1e4]]), 1, "energy")).all()


def test_decide_applies_the_threshold_to_the_given_score() -> None:
    probs = np.array([0.9, 0.05, 0.05])  # confident by probability...
    low = decide(probs, LABELS, top_k=3, threshold=2.0, oos_label="oos", score=1.5)
    assert low.label == "oos" and low.below_threshold  # ...but its energy is under the threshold
    high = decide(probs, LABELS, top_k=3, threshold=2.0, oos_label="oos", score=2.5)
    assert high.label == "greet" and high.confidence == 0.9
