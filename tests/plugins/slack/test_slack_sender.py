"""Message formatting: long and entity-heavy replies are split and cut without breaking `&amp;`."""

from __future__ import annotations

import re

from interplay.plugins.slack.events import clean_text
from interplay.plugins.slack.sender import MAX_TEXT, SECTION_LIMIT, reply_blocks, slack_text

BROKEN = re.compile(r"&(?!amp;|lt;|gt;)|^(amp|lt|gt);|&(a|am|amp|l|lt|g|gt)$")


def test_sections_respect_the_limit_and_never_split_an_entity() -> None:
    text = ("a & b < c > " * 2000)[:20_000]
    blocks = reply_blocks(text, "r1")
    sections = [b["text"]["text"] for b in blocks[:-1]]
    assert all(0 < len(s) <= SECTION_LIMIT for s in sections)
    assert not [s for s in sections if BROKEN.search(s)]
    assert clean_text("".join(sections), None) == text.strip()
    assert blocks[-1]["elements"][0]["value"] == "r1"


def test_text_is_cut_at_slacks_limit_outside_an_entity() -> None:
    body = slack_text("&" * 20_000)
    assert len(body) <= MAX_TEXT and body.endswith("&amp;")
    assert slack_text("") == "…"


def test_short_text_is_one_section() -> None:
    blocks = reply_blocks("hello", "r2")
    assert [b["type"] for b in blocks] == ["section", "actions"]
