"""`manifest.json`: the contract between the trainer and the runtime for one model directory.

Every model directory has one. The fields all kinds share are read here (`load_manifest`,
`check_files`, `file_sha256`); `ModelManifest` is the schema of the NLU kinds (text and token
classification). The generator's manifest adds its own fields (precision variants, stop tokens),
checked by the `onnx` plugin on top of these.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ModelError

MANIFEST = "manifest.json"
MANIFEST_NAME = MANIFEST  # the name plugins/nlu used
MANIFEST_VERSION = 1


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (models can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(directory: Path, hint: str) -> dict[str, Any]:
    """The raw manifest of a model directory; ModelError (ending with `hint`) if missing or unreadable."""
    path = Path(directory).expanduser() / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path.parent} is not a model directory ({MANIFEST} missing): {hint}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}): {hint}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a manifest (a JSON object): {hint}")
    return data


def manifest_files(directory: Path) -> dict[str, dict[str, Any]]:
    """A manifest's `files`: each file of the directory (model, tokenizer, config) with bytes and sha256."""
    return {
        f.name: {"bytes": f.stat().st_size, "sha256": file_sha256(f)}
        for f in sorted(Path(directory).iterdir())
        if f.is_file() and f.name != MANIFEST and not f.name.startswith(".")
    }


def _inside(name: str) -> bool:
    """A file name a manifest may use: relative, and never leaving its directory."""
    path = Path(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def files_problem(directory: Path, manifest: dict[str, Any], *, verify_sha256: bool = False) -> str:
    """What is wrong with the files the manifest lists (missing, wrong size, wrong hash); "" if none."""
    files = manifest.get("files")
    for name, info in files.items() if isinstance(files, dict) else []:
        info = info if isinstance(info, dict) else {}
        if not _inside(str(name)):
            return f"{name!r} is not a file inside the model directory"
        file = Path(directory) / name
        if not file.is_file():
            return f"{name} is missing"
        size = info.get("bytes", info.get("size"))  # "size" in manifests written before "bytes"
        if isinstance(size, int) and file.stat().st_size != size:
            return f"{name} has the wrong size ({file.stat().st_size} bytes, the manifest says {size})"
        if verify_sha256 and info.get("sha256") and file_sha256(file) != info["sha256"]:
            return f"{name} does not match its sha256 in {MANIFEST} (corrupt)"
    return ""


def check_files(directory: Path, manifest: dict[str, Any], hint: str, *, verify_sha256: bool = False) -> None:
    """Every file in the manifest's `files` is there with its recorded size (and hash, when asked)."""
    problem = files_problem(directory, manifest, verify_sha256=verify_sha256)
    if problem:
        raise ModelError(f"{Path(directory)}: {problem}: {hint}")


def verify_version(directory: Path) -> int:
    """Check a model version directory against the sha256 its manifests record; the files checked.

    Hot swap runs this before it builds a promoted version: every `manifest.json` in the directory
    and one level down (the generator keeps one per precision) must match each file it lists
    (model, tokenizer, config) by size and sha256, and the `model_file` its `sha256` field, if any.
    ModelError names the first mismatch. A directory without a manifest has nothing to check (its
    plugin decides what it loads); the hashes catch corruption and half-copied versions, they do
    not authenticate: whoever can write the directory can rewrite its manifest too.
    """
    directory = Path(directory)
    hint = "re-export the version or roll back (interplay models rollback)"
    checked = 0
    for path in [directory / MANIFEST, *sorted(directory.glob(f"*/{MANIFEST}"))]:
        if not path.is_file():
            continue
        data = load_manifest(path.parent, hint)
        check_files(path.parent, data, hint, verify_sha256=True)
        listed = data.get("files")
        files: dict[str, Any] = listed if isinstance(listed, dict) else {}
        checked += sum(1 for info in files.values() if isinstance(info, dict) and info.get("sha256"))
        model_file, digest = str(data.get("model_file", "model.onnx")), data.get("sha256")
        if not _inside(model_file):
            raise ModelError(f"{path}: model_file {model_file!r} is not inside the model directory: {hint}")
        if digest and model_file not in files:
            model = path.parent / model_file
            if not model.is_file() or file_sha256(model) != digest:
                raise ModelError(f"{model} does not match the sha256 in {MANIFEST}: {hint}")
            checked += 1
    return checked


def manifest_problem(directory: Path) -> str:
    """What is wrong with a model directory (its manifest, model file, listed files); "" if sound."""
    try:
        data = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{MANIFEST} is unreadable ({type(exc).__name__})"
    if not isinstance(data, dict) or not data.get("kind"):
        return f"{MANIFEST} has no 'kind'"
    model_file = Path(directory) / str(data.get("model_file", "model.onnx"))
    if not model_file.is_file():
        return f"{model_file.name} is missing"
    return files_problem(directory, data)


class ParityCheck(BaseModel):
    """How closely the exported ONNX model matches PyTorch on the same inputs."""

    model_config = ConfigDict(extra="allow")

    examples: int = 0
    max_abs_logit_diff: float = 0.0
    label_agreement: float = 1.0
    passed: bool = True


class ModelManifest(BaseModel):
    """What an NLU model directory holds and how it was made; the runtime trusts nothing else."""

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
    # every file of the directory (tokenizer and config too): {"bytes": n, "sha256": hex}; written by save()
    files: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_length: int = Field(64, ge=1)
    threshold: float | None = None  # below it (in `oos_score` units), `oos_label` is predicted instead
    oos_score: Literal["probability", "energy"] = "probability"  # see classifier.oos_confidence
    oos_label: str | None = None
    # how the weights were made: the whole encoder fine-tuned, or a frozen encoder + pooling + a linear
    # head in one graph (interplay.trainer.classifier.embedding_run); both are served the same way
    method: Literal["fine-tuned", "embedding-head"] = "fine-tuned"
    metrics: dict[str, Any] = Field(default_factory=dict)
    parity: ParityCheck | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def save(self, directory: Path) -> Path:
        """Write manifest.json into `directory`, with the size and sha256 of every file now in it."""
        path = Path(directory) / MANIFEST
        data = {**self.model_dump(mode="json"), "files": manifest_files(Path(directory))}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path


def read_manifest(directory: Path, *, verify: bool = True) -> ModelManifest:
    """Load and check an NLU model directory's manifest; ModelError says what is wrong and what to do."""
    directory = Path(directory).expanduser()
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelError(
            f"{directory} is not a model directory (no {MANIFEST}): "
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
