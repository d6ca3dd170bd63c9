"""Prepare the configured generator's fp32, int8 and int4 variants into a separate models directory.

`interplay models prepare` swaps the served model in place; a bench that wants the int4 variant
beside int8 can build into its own directory instead and leave the served one alone:

    python bench/prepare_variants.py build/models          # then: bench/generate.py --models-dir build/models

The same path as `models prepare` (Optimum export, parity on three prompts, block-wise
quantization, manifests), so the manifests record each variant's parity.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models_dir", type=Path)
    parser.add_argument("--variants", default="fp32,int8,int4")
    args = parser.parse_args(argv)
    from interplay.core import load_config
    from interplay.trainer.lm.prepare import build_generator, check_dependencies, generator_root
    from interplay.trainer.lm.source import parse_source

    check_dependencies()
    began = time.perf_counter()
    config = load_config()
    source = parse_source(config.plugin_table("onnx").get("source"))
    target = generator_root(config, args.models_dir)  # <models_dir>/onnx, as `models prepare` lays it out
    root = build_generator(source, target, variants=tuple(args.variants.split(",")))
    print(f"prepared {root} in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
