"""`interplay models prepare` for the generator: checkpoint -> ONNX variants + manifests, checked."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import shutil
from pathlib import Path
from typing import Any

from interplay.core import InterplayError, ModelError
from interplay.plugins.onnx_generator import model_dir as layout
from tqdm import tqdm

from . import export
from .parity import ParityResult, check_parity, require_fp32_parity
from .source import ModelSource, load_checkpoint, parse_source, stop_token_ids

VARIANTS = ("fp32", "int8", "int4", "fp16")
_TOOLS = ("transformers", "optimum-onnx", "onnx", "onnxruntime-gpu", "onnxruntime", "torch")


def generator_root(config: Any, models_dir: Path | None = None) -> Path:
    """The `onnx` plugin's default model root in `models_dir` (default: the configured one), as its
    class's `model_home` says (`<models_dir>/onnx`, or `<models_dir>/generator` prepared before)."""
    from interplay.core.plugins import load_registry

    home = load_registry(config).model_home("onnx")
    if home is None:
        raise InterplayError("the onnx generator plugin is not installed: pip install 'interplay[onnx]'")
    return home.root(models_dir or config.models_dir)


def prepare_generator(config: Any, *, force: bool = False, variants: tuple[str, ...] = VARIANTS) -> Path:
    """Build the configured generator unless a valid one from the same source is there; returns its root."""
    root = generator_root(config)
    configured = config.plugin_table("onnx").get("source")
    if not force and is_prepared(root, variants) and _same_source(root / variants[0], configured):
        return root
    check_dependencies()
    return build_generator(parse_source(configured), root, variants=variants)


def _same_source(variant: Path, configured: str | None) -> bool:
    """The prepared model came from the configured checkpoint (changing `source` means rebuilding)."""
    try:
        wanted = parse_source(configured).describe()
    except ModelError:
        if configured:
            raise
        return True  # the default's package is gone, but a model built from it is here: keep it
    recorded = layout.read_manifest(variant)
    return all(recorded.get("source", {}).get(k) == v for k, v in wanted.items())


def is_prepared(root: Path, variants: tuple[str, ...] = VARIANTS) -> bool:
    """Every variant has a valid manifest and all its files at their recorded sizes (no hashing)."""
    try:
        for precision in variants:
            layout.resolve(root, precision)
    except ModelError:
        return False
    return True


def check_dependencies() -> None:
    needed = ("torch", "optimum.exporters.onnx", "onnx", "onnx_ir", "gguf", "accelerate")
    missing = [m for m in needed if not _importable(m)]
    if missing:
        raise ModelError(
            f"preparing the chat model needs {', '.join(missing)}: pip install 'interplay[train]'"
        )


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def check_disk_space(root: Path, parameters: int) -> None:
    """fp32 + fp16 + int8 + int4 copies plus a staging margin must fit, or we stop before writing."""
    needed = int(parameters * (4 + 2 + 1.3 + 0.8) * 1.2) + (64 << 20)
    probe = root
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise ModelError(f"not enough disk space in {probe}: need {needed >> 20} MiB, {free >> 20} MiB free. "
                         "Free some space or set models_dir in [interplay]")


def build_generator(source: ModelSource, root: Path, *, variants: tuple[str, ...] = VARIANTS,
                    model: Any = None, tokenizer: Any = None) -> Path:
    """Load (unless given), export, check parity, quantize and write manifests; then swap into place."""
    with tqdm(total=2 + 2 * len(variants), desc="generator", unit="step") as bar:
        if model is None:
            bar.set_postfix_str(f"loading {source.location}")
            model, tokenizer = load_checkpoint(source)
        bar.update()
        check_disk_space(root, sum(p.numel() for p in model.parameters()))
        staging = root.parent / f".{root.name}-staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            results = _build_variants(model, tokenizer, staging, variants, bar)
            common = _common_manifest(source, model, tokenizer)
            for precision in variants:
                _write_manifest(staging / precision, precision, common, results)
            _swap_into_place(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        bar.update()
    return root


def _build_variants(model: Any, tokenizer: Any, staging: Path, variants: tuple[str, ...],
                    bar: tqdm) -> dict[str, ParityResult | None]:
    results: dict[str, ParityResult | None] = {}
    bar.set_postfix_str("exporting fp32 ONNX")
    export.export_fp32(model, tokenizer, staging / "fp32")
    bar.update()
    for precision in variants:
        if precision == "int8":
            bar.set_postfix_str("quantizing int8")
            export.quantize_int8(staging / "fp32", staging / "int8")
        elif precision == "int4":
            bar.set_postfix_str("quantizing int4")
            export.quantize_int4(staging / "fp32", staging / "int4")
        elif precision == "fp16":
            bar.set_postfix_str("converting fp16")
            export.convert_fp16(staging / "fp32", staging / "fp16")
        if precision != "fp32":
            bar.update()
        bar.set_postfix_str(f"parity {precision}")
        results[precision] = _parity(model, tokenizer, staging / precision, precision)
        if precision == "fp32":
            require_fp32_parity(results["fp32"])  # type: ignore[arg-type]
        bar.update()
    if "fp32" not in variants:
        shutil.rmtree(staging / "fp32")
    return results


def _parity(model: Any, tokenizer: Any, path: Path, precision: str) -> ParityResult | None:
    """fp16 is checked only where it would run (CUDA); on the CPU it is recorded as not measured."""
    from interplay.core.model_dir import cuda_usable

    if precision == "fp16" and not cuda_usable():
        return None
    return check_parity(model, tokenizer, path / "model.onnx", precision,
                        device="cuda" if precision == "fp16" else "cpu")


def _common_manifest(source: ModelSource, model: Any, tokenizer: Any) -> dict[str, Any]:
    src = source.describe()
    if source.gguf_file:
        src["sha256"] = layout.file_sha256(Path(source.location) / source.gguf_file)
    return {
        "format": layout.MANIFEST_FORMAT,
        "kind": "generator",
        "name": source.name,
        "base_model": source.name,
        "architecture": type(model).__name__,
        "source": src,
        "model_file": "model.onnx",
        "stop_token_ids": stop_token_ids(model, tokenizer),
        "context_length": int(getattr(model.config, "max_position_embeddings", 2048)),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tools": {t: _version(t) for t in _TOOLS if _version(t)},
    }


def _write_manifest(path: Path, precision: str, common: dict[str, Any],
                    results: dict[str, ParityResult | None]) -> None:
    files = {
        f.name: {"bytes": f.stat().st_size, "sha256": layout.file_sha256(f)}
        for f in sorted(path.iterdir()) if f.is_file() and f.name != layout.MANIFEST
    }
    digest = files["model.onnx"]["sha256"]
    parity = {p: (r.as_dict() if r else {"measured": False, "why": "needs a CUDA GPU"})
              for p, r in results.items()}
    manifest = {
        **common,
        "precision": precision,
        "version": f"{common['name']}-{precision}-{digest[:8]}",
        "opset": export.opset_of(path / "model.onnx"),
        "files": files,
        "parity": parity[precision],
        "parity_all": parity,
        "metrics": {},
    }
    export.write_json(path / layout.MANIFEST, manifest)


def _swap_into_place(staging: Path, root: Path) -> None:
    """Replace the old model directory only once the new one is complete."""
    old = root.parent / f".{root.name}-old-{os.getpid()}"
    if root.exists():
        root.rename(old)
    staging.rename(root)
    shutil.rmtree(old, ignore_errors=True)


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


__all__ = ["InterplayError", "build_generator", "is_prepared", "prepare_generator"]
