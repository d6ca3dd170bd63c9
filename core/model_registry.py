"""Moved to `interplay.core.model_dir.registry`; this name stays for existing imports (same module)."""

import sys

from .model_dir import registry

sys.modules[__name__] = registry
