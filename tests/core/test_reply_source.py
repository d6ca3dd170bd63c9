"""ReplySource: what produced a reply, typed, and the one rule for rating buttons."""

from __future__ import annotations

import pytest
from interplay.core import ReplySource


@pytest.mark.parametrize(
    ("source", "kind", "name", "rated"),
    [
        (ReplySource("generator", "onnx"), "generator", "onnx", True),
        (ReplySource("skill", "weather"), "skill", "weather", True),
        (ReplySource("command", "help"), "command", "help", False),
        (ReplySource("fallback"), "fallback", "", False),
        (ReplySource("busy"), "busy", "", False),
        (ReplySource("limited"), "limited", "", False),
    ],
)
def test_kind_name_and_rating_rule(source, kind, name, rated):
    assert (source.kind, source.name, source.rated) == (kind, name, rated)
    assert ReplySource.parse(str(source)) == source  # as stored and read back
    assert ReplySource.parse(str(source)).rated is rated


def test_it_is_the_string_stored_before():
    assert ReplySource("generator", "echo") == "generator:echo"
    assert ReplySource("busy") == "busy"
    assert ReplySource.parse("skill:a:b").name == "a:b"  # only the first colon separates
