"""Reading span JSONL and CoNLL BIO files, with errors a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interplay.core import InterplayError
from interplay.trainer.tagger.data import holdout, read_conll, read_jsonl, read_tagged, shots_per_intent


def _jsonl(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reads_spans_sorted_with_intent(tmp_path: Path):
    path = _jsonl(
        tmp_path,
        {
            "text": "rain in Köln tomorrow",
            "intent": "GetWeather",
            "entities": [
                {"start": 13, "end": 21, "label": "time", "value": "tomorrow"},
                {"start": 8, "end": 12, "label": "city"},
            ],
        },
    )
    (example,) = read_jsonl(path)
    assert example.intent == "GetWeather"
    assert [(s.label, s.text(example.text)) for s in example.spans] == [
        ("city", "Köln"),
        ("time", "tomorrow"),
    ]


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([{"start": 0, "label": "city"}], "no 'end' field"),
        ([{"start": 3, "end": 99, "label": "city"}], "outside the text"),
        ([{"start": 4, "end": 4, "label": "city"}], "outside the text"),
        ([{"start": 0, "end": 4, "label": "city"}, {"start": 2, "end": 8, "label": "time"}], "overlap"),
        ([{"start": 0, "end": 4, "label": "city", "value": "Rome"}], "fix the offsets"),
        ([{"start": 0, "end": 4, "label": "two words"}], "without spaces"),
    ],
)
def test_bad_entities_are_errors_that_say_what_to_fix(tmp_path: Path, entities: list, message: str):
    path = _jsonl(tmp_path, {"text": "rain in Köln tomorrow", "entities": entities})
    with pytest.raises(InterplayError, match=message) as info:
        read_jsonl(path)
    assert "line 1" in str(info.value)


def test_missing_field_is_named(tmp_path: Path):
    with pytest.raises(InterplayError, match="no 'entities' field"):
        read_jsonl(_jsonl(tmp_path, {"text": "hello"}))


def test_conll_files_become_text_with_spans(tmp_path: Path):
    path = tmp_path / "data.conll"
    path.write_text(
        "# intent = GetWeather\nrain O\nin O\nNew B-city\nYork I-city\ntomorrow B-time\n\n"
        "play O\nabba B-artist\n",
        encoding="utf-8",
    )
    first, second = read_tagged(path)
    assert first.text == "rain in New York tomorrow" and first.intent == "GetWeather"
    assert [(s.label, s.text(first.text)) for s in first.spans] == [
        ("city", "New York"),
        ("time", "tomorrow"),
    ]
    assert second.intent is None and [s.text(second.text) for s in second.spans] == ["abba"]


def test_conll_bad_tag_is_an_error(tmp_path: Path):
    path = tmp_path / "bad.conll"
    path.write_text("rain X-city\n", encoding="utf-8")
    with pytest.raises(InterplayError, match="not O, B-<label> or I-<label>"):
        read_conll(path)


def test_shots_per_intent_and_holdout(tmp_path: Path):
    rows = [{"text": f"row {i}", "intent": "a" if i % 3 else "b", "entities": []} for i in range(30)]
    examples = read_jsonl(_jsonl(tmp_path, *rows))
    kept, rest = shots_per_intent(examples, 4, seed=1)
    assert sorted(e.intent for e in kept) == ["a"] * 4 + ["b"] * 4
    assert len(rest) == 22 and not set(kept) & set(rest)
    assert shots_per_intent(examples, 4, seed=1)[0] == kept  # seeded
    train, val = holdout(examples, 0.1, seed=0)
    assert len(val) == 3 and len(train) == 27
