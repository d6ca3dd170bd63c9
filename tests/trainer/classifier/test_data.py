"""Data files: formats, and clear errors for files a person has to fix."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from interplay.core import InterplayError
from interplay.trainer.classifier import splits
from interplay.trainer.classifier.data import DataFileError, Example, label_list, read_examples


def test_reads_csv_jsonl_and_gzip(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text('text,label\n"hi, there",greet\nbye,goodbye\n', encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "hi", "label": "greet"}\n\n{"text": "yo", "label": "x"}\n')
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(b"text,label\nrain,weather\n"))
    assert read_examples(tmp_path / "a.csv") == [Example("hi, there", "greet"), Example("bye", "goodbye")]
    assert [e.label for e in read_examples(tmp_path / "b.jsonl")] == ["greet", "x"]
    assert read_examples(tmp_path / "c.csv.gz") == [Example("rain", "weather")]


def test_unlabeled_file_needs_only_text(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text("text\nsomething\n", encoding="utf-8")
    assert read_examples(tmp_path / "u.csv", labeled=False) == [Example("something")]


def test_missing_column_names_what_was_found(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sentence,label\nhello,greet\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"no 'text' column \(columns found: label, sentence\)"):
        read_examples(path)


def test_empty_label_names_the_row_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,greet\nrain today,\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"row 3 has an empty 'label'.*--unlabeled"):
        read_examples(path)


def test_unknown_encoding_says_to_convert(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé au lait,drink\n".encode("latin-1"))
    with pytest.raises(
        DataFileError, match=r"not UTF-8 text \(byte 0xe9 at offset 14\).*re-save it as UTF-8"
    ):
        read_examples(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "text,label\n", "no data rows"),
        ("x.txt", "text,label\na,b\n", "unknown file type"),
        ("broken.jsonl", '{"text": "a"\n', "line 1 is not valid JSON"),
        ("list.jsonl", '["a", "b"]\n', "not a JSON object"),
    ],
)
def test_other_bad_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError, match=message):
        read_examples(tmp_path / name)


def test_errors_are_for_people() -> None:
    assert issubclass(DataFileError, InterplayError)
    with pytest.raises(DataFileError, match="does not exist"):
        read_examples(Path("/nonexistent/train.csv"))


def test_label_list_rejects_labels_training_never_sees() -> None:
    train = [Example("a", "x"), Example("b", "y")]
    assert label_list(train, [Example("c", "x")]) == ["x", "y"]
    with pytest.raises(DataFileError, match=r"labels that training never sees \(z\)"):
        label_list(train, [Example("c", "z")])
    with pytest.raises(DataFileError, match="at least two"):
        label_list([Example("a", "x")])


def _rows(per_class: int) -> list[Example]:
    return [Example(f"{label} {i}", label) for label in "abc" for i in range(per_class)]


def test_shots_per_class_and_label_fraction() -> None:
    labeled, unlabeled = splits.shots_per_class(_rows(10), 3, seed=0)
    assert sorted(e.label for e in labeled) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert len(unlabeled) == 21 and all(e.label is None for e in unlabeled)
    labeled, unlabeled = splits.label_fraction(_rows(10), 0.2, seed=0)
    assert len(labeled) == 6 and len(unlabeled) == 24
    assert splits.shots_per_class(_rows(10), 3, seed=0) == splits.shots_per_class(_rows(10), 3, seed=0)


def test_kfold_validates_every_example_once() -> None:
    rows = _rows(7)
    folds = splits.kfold(rows, 3, seed=1)
    validated = [e for _, val in folds for e in val]
    assert sorted(validated, key=lambda e: e.text) == sorted(rows, key=lambda e: e.text)
    for train, val in folds:
        assert not set(train) & set(val)
        assert {e.label for e in val} == {"a", "b", "c"}


def test_holdout_keeps_every_class_in_training() -> None:
    train, val = splits.holdout([*_rows(2), Example("d 0", "d")], 0.5, seed=0)
    assert {e.label for e in train} == {"a", "b", "c", "d"}
    assert len(val) == 3
