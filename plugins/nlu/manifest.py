"""`manifest.json`: the contract between the trainer and the runtime for one model directory."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from interplay.core import ModelError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class ParityCheck(BaseModel):
    """How closely the exported ONNX model matches PyTorch on the same inputs."""

    model_config = ConfigDict(extra="allow")

    examples: int = 0
    max_abs_logit_diff: float = 0.0
    label_agreement: float = 1.0
    passed: bool = True


class ModelManifest(BaseModel):
    """What a model directory holds and how it was made; the runtime trusts nothing else."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    format_version: int = MANIFEST_VERSION
    kind: str  # "intent", "sentiment", "entities", ... (what the model annotates)
    task: Literal["text-classification", "token-classification"] = "text-classification"
    labels: list[str] = Field(min_length=1)
    base_model: str = ""
    precision: Literal["fp32", "int8", "fp16"] = "fp32"
    opset: int | None = None
    model_file: str = "model.onnx"
    sha256: str = ""
    max_length: int = Field(64, ge=1)
    threshold: float | None = None  # below it (in `oos_score` units), `oos_label` is predicted instead
    oos_score: Literal["probability", "energy"] = "probability"  # see classifier.oos_confidence
    oos_label: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    parity: ParityCheck | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def save(self, directory: Path) -> Path:
        """Write manifest.json into `directory`."""
        path = Path(directory) / MANIFEST_NAME
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
        return path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (models can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(directory: Path, *, verify: bool = True) -> ModelManifest:
    """Load and check a model directory's manifest; ModelError says what is wrong and what to do."""
    directory = Path(directory).expanduser()
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(
            f"{directory} is not a model directory (no {MANIFEST_NAME}): "
            "run `interplay models prepare` or point the plugin's model_dir at a trained model"
        )
    try:
        manifest = ModelManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise ModelError(
            f"{path} is not a valid manifest ({exc.__class__.__name__}): re-export the model"
        ) from None
    model_path = directory / manifest.model_file
    if not model_path.is_file():
        raise ModelError(f"{model_path} is missing: re-export the model into {directory}")
    if verify and manifest.sha256 and file_sha256(model_path) != manifest.sha256:
        raise ModelError(
            f"{model_path} does not match the sha256 in its manifest: the file is corrupt, re-export it"
        )
    return manifest
