"""Moved to `interplay.core.model_dir.cuda`; this name stays for existing imports (same module)."""

import sys

from .model_dir import cuda

sys.modules[__name__] = cuda
