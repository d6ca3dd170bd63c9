"""`interplay train classifier --augment / --augmented FILE`: extra training rows through RunSpec.augment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..classifier.data import Example, read_examples
from ..classifier.run import Splits
from .config import AugmentConfig
from .report import rounds_markdown, write_json, write_rows

Hook = Callable[[Splits, int], list[Example]]


def from_file(path: Path) -> Hook:
    """Rows generated earlier (`interplay train augment` writes augmented.csv)."""

    def hook(s: Splits, seed: int) -> list[Example]:
        return read_examples(path)

    return hook


def inline(cfg: AugmentConfig, generator: str | None, encoder: str | None, out: Path) -> Hook:
    """Run the adversarial augmentation on the run's own labeled split; reports go to `out`."""

    def hook(s: Splits, seed: int) -> list[Example]:
        from .pipeline import augment, build_models

        models = build_models(generator, encoder)
        pool = [e.text for e in s.unlabeled]
        result = augment(models, s.labeled, pool, replace(cfg, seed=seed))
        write_report(out, result.to_dict(), [(c.text, c.label) for c in result.accepted], cfg)
        return result.rows()

    return hook


def write_report(out: Path, result: dict, rows: list[tuple[str, str]], cfg: AugmentConfig) -> None:
    """augmented.csv, augment.json and augment.md in `out`."""
    write_rows(out / "augmented.csv", rows)
    write_json(out / "augment.json", {"config": cfg.to_dict(), **result})
    (out / "augment.md").write_text("# Augmentation\n\n" + rounds_markdown(result), encoding="utf-8")
