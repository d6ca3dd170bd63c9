"""`interplay train classifier` end to end on the toy data, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from interplay.trainer.classifier.cli import classifier_command
from interplay.trainer.classifier.data import DataFileError


def test_cli_trains_reports_and_exports(tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path) -> None:
    args = [
        "--train",
        str(toy_files["train"]),
        "--validation",
        str(toy_files["validation"]),
        "--base",
        str(tiny_base),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "6",
        "--lr",
        "3e-3",
        "--batch-size",
        "16",
        "--patience",
        "0",
        "--device",
        "cpu",
        "--no-quantize",
    ]
    result = CliRunner().invoke(classifier_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "validation accuracy" in result.output and "with threshold" in result.output
    manifest = json.loads((tmp_path / "run" / "model" / "manifest.json").read_text())
    assert manifest["precision"] == "fp32" and manifest["parity"]["passed"] is True
    assert manifest["parity"]["max_abs_logit_diff"] < 1e-3


def test_cli_bad_file_raises_a_person_facing_error(tiny_base: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance,intent\nhello,greet\n", encoding="utf-8")
    result = CliRunner().invoke(
        classifier_command, ["--train", str(bad), "--out", str(tmp_path / "r"), "--base", str(tiny_base)]
    )
    assert isinstance(result.exception, DataFileError)
    assert "no 'text' column" in str(result.exception)
