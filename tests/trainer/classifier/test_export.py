"""Which graph the export serves: int8 where it holds up against fp32, else fp32."""

from __future__ import annotations

from interplay.trainer.classifier import export


def test_int8_holds_up_only_close_to_fp32() -> None:
    fp32 = {"label_agreement": 1.0, "accuracy": 0.900}
    assert export.int8_holds_up({"label_agreement": 0.99, "accuracy": 0.896}, fp32)
    assert not export.int8_holds_up({"label_agreement": 0.99, "accuracy": 0.894}, fp32)
    assert not export.int8_holds_up({"label_agreement": 0.90, "accuracy": 0.900}, fp32)
    assert export.int8_holds_up({"label_agreement": 0.96}, {"label_agreement": 1.0})  # unlabeled texts
