"""pyproject.toml lists every package directory, so a wheel install matches the editable one."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_directory_is_listed_in_pyproject():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    dirs = {path: name for name, path in tool["package-dir"].items()}
    found = set()
    for top in ("core", "plugins", "trainer"):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            if rel in dirs:
                found.add(dirs[rel])
                continue
            base = next(p for p in sorted(dirs, key=len, reverse=True) if rel == p or rel.startswith(p + "/"))
            found.add(dirs[base] + rel[len(base):].replace("/", "."))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "these listed packages have no directory"


def test_every_entry_point_module_exists():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    import importlib.util

    for name, target in project["entry-points"]["interplay"].items():
        assert importlib.util.find_spec(target) is not None, f"entry point {name} -> {target} is missing"
