"""bench/generate.py: the int4 rows and perplexity enter the summary only when they were measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_conditions import load


def level(tok_s: float) -> dict[str, float]:
    return {"decode_tok_s_per_stream": tok_s, "aggregate_tok_s": tok_s, "ttft_p50_ms": 100.0}


def test_int4_is_compared_with_int8_and_fp32_when_present(tmp_path: Path) -> None:
    generate = load("generate")
    report = {"backends": {"torch-cpu": {"levels": {"1": level(10.0), "16": level(20.0)}},
                           "onnx-int8": {"levels": {"1": level(30.0), "16": level(60.0)}},
                           "onnx-int4": {"levels": {"1": level(36.0), "16": level(70.0)}}},
              "perplexity": {"fp32": 20.0, "int8": 20.2, "int8_vs_fp32": 0.01, "int4": 21.0,
                             "int4_vs_fp32": 0.05}}
    out = generate.summary(report, [1, 16])
    assert out["int8_vs_torch_decode_ratio"] == 3.0
    assert out["int4_vs_int8_decode_ratio"] == 1.2
    assert (out["perplexity_int4"], out["perplexity_int4_vs_fp32"]) == (21.0, 0.05)
    del report["backends"]["onnx-int4"], report["perplexity"]["int4"], report["perplexity"]["int4_vs_fp32"]
    out = generate.summary(report, [1, 16])
    assert "int4_vs_int8_decode_ratio" not in out and "perplexity_int4" not in out


def test_perplexity_covers_the_quantized_variants_that_exist(tmp_path: Path) -> None:
    generate = load("generate")
    for precision in ("fp32", "int8"):
        (tmp_path / precision).mkdir()
        (tmp_path / precision / "model.onnx").write_bytes(b"")
    assert generate.perplexity_precisions(tmp_path) == ["fp32", "int8"]
    (tmp_path / "int4").mkdir()
    (tmp_path / "int4" / "model.onnx").write_bytes(b"")
    assert generate.perplexity_precisions(tmp_path) == ["fp32", "int8", "int4"]


def test_data_is_found_above_any_worktree_depth(tmp_path: Path) -> None:
    generate = load("generate")
    data = tmp_path / "shared" / "data" / "dailydialog" / "validation.jsonl"
    bench = tmp_path / "wt" / "name" / "bench"  # a worktree one level deeper than /work/main
    bench.mkdir(parents=True)
    assert generate.default_data(bench) == bench.parents[1] / generate.DAILYDIALOG  # no data yet
    data.parent.mkdir(parents=True)
    data.write_text("{}\n")
    assert generate.default_data(bench) == data


def test_perplexity_without_data_is_an_error_not_a_skip(tmp_path: Path) -> None:
    generate = load("generate")
    with pytest.raises(SystemExit):
        generate.parse_args(["--backends", "", "--data", str(tmp_path / "missing.jsonl")])
    args = generate.parse_args(["--ppl-replies", "0", "--data", str(tmp_path / "missing.jsonl")])
    assert args.ppl_replies == 0
