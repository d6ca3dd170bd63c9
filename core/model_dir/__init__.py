"""Model directories: the one module the runtime, doctor and the trainer share about models.

- `manifest`: `manifest.json` (the NLU schema `ModelManifest`, the fields all kinds share), `file_sha256`;
- `registry`: `<model root>/registry.json` (promoted versions), `ModelHome`, `model_root()` (where a
  plugin's model is);
- `cuda`: which ONNX Runtime build is installed and whether its CUDA provider loads here (probed once).

Nothing here imports onnxruntime, numpy or torch at import time.
"""

from __future__ import annotations

from . import cuda, manifest, registry
from .cuda import Device, choose_device, cuda_problem, cuda_usable, ort_build, providers_for
from .manifest import (
    MANIFEST,
    ModelManifest,
    ParityCheck,
    check_files,
    file_sha256,
    files_problem,
    load_manifest,
    manifest_problem,
    read_manifest,
)
from .registry import REGISTRY, ModelHome, model_root, promoted_config

__all__ = [
    "MANIFEST",
    "REGISTRY",
    "Device",
    "ModelHome",
    "ModelManifest",
    "ParityCheck",
    "check_files",
    "choose_device",
    "cuda",
    "cuda_problem",
    "cuda_usable",
    "file_sha256",
    "files_problem",
    "load_manifest",
    "manifest",
    "manifest_problem",
    "model_root",
    "ort_build",
    "promoted_config",
    "providers_for",
    "read_manifest",
    "registry",
]
