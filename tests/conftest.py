"""Shared test set-up: no test reaches a network or a model hub."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Fuzz tests explore new inputs on developers' machines; in CI they replay a fixed sequence, so a
# submission's CI result does not depend on luck. New findings are pinned with @example.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")
