"""The README shows the example plugin exactly as it is shipped and tested."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_plugin_matches_the_shipped_files():
    readme = (ROOT / "README.md").read_text()
    for name in ("interplay_shouting.py", "test_shouting.py"):
        source = (ROOT / "examples" / "interplay-shouting" / name).read_text()
        assert f"```python\n{source}```" in readme, f"README's copy of {name} is out of date"


def test_example_plugin_is_at_most_30_lines():
    source = (ROOT / "examples" / "interplay-shouting" / "interplay_shouting.py").read_text()
    assert len(source.splitlines()) <= 30


def test_readme_opens_with_the_two_setup_commands():
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert "make chat" in head and "make test" in head
