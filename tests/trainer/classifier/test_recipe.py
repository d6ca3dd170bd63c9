"""The default recipe chosen from the data, length-bucketed batches, and the CLI printing the recipe."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from interplay.trainer.classifier.batches import bucketed_batches
from interplay.trainer.classifier.cli import classifier_command
from interplay.trainer.classifier.recipe import choose_recipe, epochs_for, max_length_for


@pytest.mark.parametrize(
    ("lengths", "expected"),
    [([10] * 99 + [200], 16), (list(range(5, 40)), 40), ([300] * 10, 128), ([], 16), ([17] * 50, 24)],
)
def test_max_length_covers_99_percent_in_multiples_of_8(lengths: list[int], expected: int) -> None:
    assert max_length_for(lengths) == expected


@pytest.mark.parametrize(("rows", "epochs"), [(100, 10), (5_000, 8), (10_000, 4), (15_100, 3), (67_349, 3)])
def test_epochs_scale_with_the_data(rows: int, epochs: int) -> None:
    assert epochs_for(rows) == epochs


def test_the_recipe_says_why() -> None:
    recipe = choose_recipe([12] * 1000, 10_000)
    assert (recipe.lr, recipe.head_lr, recipe.max_length, recipe.epochs) == (1e-4, 2e-3, 16, 4)
    assert "10000 rows" in recipe.reasons["epochs"] and "99%" in recipe.reasons["max_length"]


def test_bucketed_batches_cover_every_row_once_with_less_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(3, 60) for _ in range(3000)]
    batches = bucketed_batches(lengths, 32, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(3000))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    plain = [list(range(3000))[i : i + 32] for i in range(0, 3000, 32)]
    assert padded < 0.7 * sum(len(b) * max(lengths[i] for i in b) for b in plain)
    assert batches != bucketed_batches(lengths, 32, random.Random(2))  # still shuffled


def test_cli_without_tuning_flags_chooses_and_prints_the_recipe(
    tiny_base: Path, toy_files: dict[str, Path], tmp_path: Path
) -> None:
    args = [
        "--train",
        str(toy_files["train"]),
        "--validation",
        str(toy_files["validation"]),
        "--base",
        str(tiny_base),
        "--out",
        str(tmp_path / "run"),
        "--device",
        "cpu",
        "--no-export",
        "--max-steps",
        "3",
        "--lr",
        "3e-3",
    ]
    result = CliRunner().invoke(classifier_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "recipe: lr 0.003 (head 0.002), up to 10 epochs" in result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    recipe = metrics["recipe"]
    assert recipe["lr"] == 3e-3 and recipe["reasons"]["lr"] == "given"
    assert recipe["max_length"] == 16 and "99%" in recipe["reasons"]["max_length"]
    assert metrics["config"]["length_buckets"] is True
    assert "## Recipe" in (tmp_path / "run" / "report.md").read_text()
