"""Moved to `interplay.core.model_dir.manifest` (one module for model directories); kept for imports."""

from interplay.core.model_dir.manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    ModelManifest,
    ParityCheck,
    file_sha256,
    read_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "ModelManifest",
    "ParityCheck",
    "file_sha256",
    "read_manifest",
]
