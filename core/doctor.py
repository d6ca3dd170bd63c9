"""`interplay doctor`: what this machine and config need to run, and what to fix."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

from packaging.requirements import Requirement

from .config import InterplayConfig
from .errors import InterplayError
from .model_dir import cuda_problem, manifest_problem, ort_build
from .redaction import redact

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, how it stands, and the fix when it is not ok."""

    level: str
    topic: str
    detail: str
    fix: str = ""


def run_checks(config: InterplayConfig) -> list[Finding]:
    """Every check, in the order the report prints them."""
    findings = [*python_and_dependencies(), *execution_providers(), *models(config)]
    findings += list(plugins(config))
    return findings


OPTIONAL = ("telegram", "slack", "redis", "openai", "onnx", "gpu", "train")  # extras reported one by one


def python_and_dependencies() -> Iterator[Finding]:
    """The interpreter, every core requirement, and each optional extra: installed, or how to add it."""
    version = ".".join(map(str, sys.version_info[:3]))
    yield Finding(OK, "python", f"{version} ({sys.executable})")  # older ones cannot import the core
    by_extra: dict[str, list[Requirement]] = {}
    for text in md.requires("interplay") or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            yield _dependency(req)
            continue
        for extra in OPTIONAL:
            if req.marker.evaluate({"extra": extra}):
                by_extra.setdefault(extra, []).append(req)
    build, seen = ort_build(), set[str]()
    for extra, reqs in by_extra.items():
        if extra in ("onnx", "gpu") and (build.wheels or extra == "gpu"):
            # one of the two ONNX Runtime builds: report the installed one (the CPU one when neither is)
            if build.both or ("onnxruntime-gpu" in build.wheels) != (extra == "gpu"):
                continue
        yield from _extra(extra, [r for r in reqs if r.name not in seen])
        seen.update(r.name for r in reqs)


def _extra(extra: str, reqs: list[Requirement]) -> Iterator[Finding]:
    findings = [replace(f, topic=f"{f.topic} [{extra}]") for f in map(_dependency, reqs)]
    if all(f.detail == "not installed" for f in findings):
        yield Finding(OK, f"extra {extra}", f"not installed (optional: pip install 'interplay[{extra}]')")
    else:
        yield from findings


def _dependency(req: Requirement, extra: str = "") -> Finding:
    fix = f"pip install '{req}'"
    try:
        installed = md.version(req.name)
    except md.PackageNotFoundError:
        return Finding(FAIL, req.name, "not installed", fix)
    if req.specifier and not req.specifier.contains(installed, prereleases=True):
        return Finding(FAIL, req.name, f"{installed} does not satisfy {req.specifier}", fix)
    return Finding(OK, req.name, installed)


def execution_providers() -> Iterator[Finding]:
    """Which ONNX Runtime build is installed and why, its providers, and whether CUDA really loads."""
    build = ort_build()
    if build.both:
        yield Finding(
            FAIL,
            "onnxruntime build",
            build.describe(),
            "pip uninstall -y onnxruntime onnxruntime-gpu, then pip install 'interplay[gpu]' "
            "(CUDA) or 'interplay[onnx]' (CPU)",
        )
    elif not build.wheels:
        yield Finding(
            WARN,
            "onnxruntime build",
            "not installed: the onnx generator and the NLU analyzers need it",
            "pip install 'interplay[onnx]' (CPU) or 'interplay[gpu]' (CUDA)",
        )
        return
    else:
        yield Finding(OK, "onnxruntime build", build.describe())
    try:
        import onnxruntime as ort
    except ImportError as exc:
        yield Finding(FAIL, "providers", f"cannot import onnxruntime: {exc}", "pip install 'interplay[onnx]'")
        return
    providers = ort.get_available_providers()
    yield Finding(OK, "providers", ", ".join(providers))
    if "CUDAExecutionProvider" not in providers:
        yield Finding(OK, "cuda", "not used by the CPU build: models run on the CPU")
        return
    why = cuda_problem()
    if why:
        yield Finding(
            WARN,
            "cuda",
            f"not available: {why}; models run on the CPU",
            "install what ONNX Runtime asks for above; on a machine without a GPU take the CPU build: "
            "pip uninstall -y onnxruntime-gpu && pip install 'interplay[onnx]'",
        )
    else:
        yield Finding(OK, "cuda", "the CUDA provider loads and runs a model on the GPU")


def models(config: InterplayConfig) -> Iterator[Finding]:
    """Model directories under `models_dir` and whether each manifest is sound."""
    root = config.models_dir
    if not root.is_dir():
        yield Finding(
            WARN,
            "models",
            f"{root} does not exist",
            "run `interplay models prepare` (needed by the onnx generator and NLU analyzers)",
        )
        return
    manifests = sorted(p for p in root.rglob("manifest.json") if len(p.relative_to(root).parts) <= 5)
    if not manifests:
        yield Finding(WARN, "models", f"no model directories in {root}", "run `interplay models prepare`")
    for path in manifests:
        problem = manifest_problem(path.parent)
        where = str(path.parent.relative_to(root)) or "."
        if problem:
            yield Finding(
                FAIL, "model", f"{where}: {problem}", "re-export it or run `interplay models prepare`"
            )
        else:
            yield Finding(OK, "model", f"{where} ({_describe(path)})")


def _describe(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    parts = [str(data.get(k)) for k in ("kind", "precision", "version") if data.get(k)]
    return ", ".join(parts)


def _enabled(config: InterplayConfig) -> list[tuple[str, str]]:
    pipe = config.pipeline
    wanted = [("channel", n) for n in pipe.channels] + [("analyzer", n) for n in pipe.analyzers]
    wanted += [("skill", n) for n in pipe.skills]
    return wanted + ([("generator", pipe.generator)] if pipe.generator else [])


def plugins(config: InterplayConfig) -> Iterator[Finding]:
    """Each enabled plugin: installed with valid settings, its secrets set, its server ports free."""
    from .plugins import load_registry

    registry = load_registry(config)
    if config.observability.enabled and config.observability.port:
        yield _port("observability", config.observability.host, config.observability.port)
    for kind, name in _enabled(config):
        try:
            settings = registry.settings_for(registry.component(kind, name), config)
        except InterplayError as exc:
            yield Finding(FAIL, f"{kind} {name}", redact(str(exc)), "fix config.toml or install the plugin")
            continue
        yield Finding(OK, f"{kind} {name}", "installed, settings valid")
        values = {k: v for k, v in settings.model_dump().items() if _applies(k, settings)}
        yield from _secrets(name, values)
        yield from _ports(name, values)


def _applies(key: str, settings: Any) -> bool:
    """False for `webhook_*` keys while `mode` is another choice (Telegram polling needs no port)."""
    field = type(settings).model_fields.get("mode")
    modes = {str(m) for m in get_args(field.annotation)} if field is not None else set()
    prefix = key.split("_", 1)[0]
    return prefix not in modes or getattr(settings, "mode", None) == prefix


def _secrets(plugin: str, values: dict[str, Any]) -> Iterator[Finding]:
    for key, ref in values.items():
        if not isinstance(ref, str) or not ref.startswith(("$env:", "$file:")):
            continue
        kind, _, target = ref.partition(":")
        present = bool(os.environ.get(target)) if kind == "$env" else Path(target).expanduser().is_file()
        what = f"environment variable {target}" if kind == "$env" else f"file {target}"
        if present:
            yield Finding(OK, f"secret {plugin}.{key}", f"{what} is set")  # never the value
        else:
            fix = f"export {target}=..." if kind == "$env" else f"write the secret to {target}"
            yield Finding(FAIL, f"secret {plugin}.{key}", f"{what} is not set", fix)


def _ports(plugin: str, values: dict[str, Any]) -> Iterator[Finding]:
    """Settings named `port` / `<x>_port` (0 means any free port), with `host` / `<x>_listen`."""
    for key, port in values.items():
        if key.endswith("port") and isinstance(port, int) and not isinstance(port, bool) and port > 0:
            prefix = key[: -len("port")]
            host = values.get(prefix + "host") or values.get(prefix + "listen") or "127.0.0.1"
            yield _port(f"plugins.{plugin}.{key}", str(host), port)


def _port(owner: str, host: str, port: int) -> Finding:
    problem = port_problem(host, port)
    if problem:
        return Finding(FAIL, f"port {owner}", f"{host}:{port} {problem}", f"choose another {owner}")
    return Finding(OK, f"port {owner}", f"{host}:{port} is free")


def port_problem(host: str, port: int) -> str:
    """ "" when `host:port` can be bound now; else why not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot be bound ({exc.strerror or exc})"
    return ""


def report(findings: list[Finding]) -> tuple[list[str], bool]:
    """The lines to print and whether everything needed is in order."""
    width = max((len(f.topic) for f in findings), default=0)
    lines = [f"{f.level:<4}  {f.topic:<{width}}  {f.detail}" for f in findings]
    fixes = [f for f in findings if f.fix and f.level != OK]
    if fixes:
        lines += ["", "To fix:"] + [f"  - {f.topic}: {f.fix}" for f in fixes]
    broken = sum(f.level == FAIL for f in findings)
    warnings = sum(f.level == WARN for f in findings)
    summary = f"{broken} problem(s) to fix" if broken else "everything needed is in order"
    lines += ["", summary + (f", {warnings} warning(s)" if warnings else "")]
    return [redact(line) for line in lines], not broken
