"""With the real models (SmolLM2 GGUF, all-MiniLM-L6-v2): run on purpose with `-m heavy`."""

from __future__ import annotations

from dataclasses import replace

import pytest
from interplay.trainer.augment.config import AugmentConfig
from interplay.trainer.augment.pipeline import augment, build_models
from interplay.trainer.classifier.data import Example

pytestmark = pytest.mark.heavy

BALANCE = [
    "what is my bank balance",
    "how much money is in my checking account",
    "tell me my savings balance",
]
ALARM = ["set an alarm for 7 am", "wake me up at six tomorrow", "please set an alarm for noon"]


def test_smollm2_proposals_mostly_pass_for_clear_intents() -> None:
    import torch

    torch.set_num_threads(1)
    models = build_models(None, None)
    labeled = [Example(t, "balance") for t in BALANCE] + [Example(t, "alarm") for t in ALARM]
    cfg = replace(AugmentConfig(), rounds=1, per_label=4, temperatures=(0.7, 1.0), progress=False)
    result = augment(models, labeled, [], cfg)
    report = result.rounds[0]
    assert report.proposed == 2 * 2 * 4
    assert report.usable >= report.proposed // 2  # list continuation yields plain utterances
    assert report.passed_label_check is not None and report.passed_label_check >= report.new // 2
